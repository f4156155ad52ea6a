import { describe, expect, it } from "vitest";
import type { DiffFileOut, DiffLineOut } from "@/client/types.gen";
import {
  type FileView,
  type PlacedLine,
  placeComments,
  readComments,
  SEVERITIES,
  type Severity,
  severityCounts,
} from "./diff";

const ALL = new Set<Severity>(SEVERITIES);

/** The lines of a file's only hunk (the fixtures have one each). */
function linesOf(view: FileView | undefined): PlacedLine[] {
  return view?.hunks[0]?.lines ?? [];
}

function line(kind: DiffLineOut["kind"], old: number | null, nu: number | null): DiffLineOut {
  return { kind, old, new: nu, text: `${kind} ${old ?? "-"} ${nu ?? "-"}` };
}

function file(path: string, lines: DiffLineOut[], extra: Partial<DiffFileOut> = {}): DiffFileOut {
  return {
    path,
    old_path: null,
    status: "modified",
    binary: false,
    additions: lines.filter((l) => l.kind === "add").length,
    deletions: lines.filter((l) => l.kind === "delete").length,
    truncated: false,
    omitted: null,
    hunks: [
      { old_start: 1, old_lines: 0, new_start: 1, new_lines: 0, section: "", lines: [...lines] },
    ],
    ...extra,
  };
}

// app/x.py: line 4 deleted and replaced by new line 4; lines 5-6 added; 3 and 7 context.
const X = file("app/x.py", [
  line("context", 3, 3),
  line("delete", 4, null),
  line("add", null, 4),
  line("add", null, 5),
  line("add", null, 6),
  line("context", 5, 7),
]);
const Y = file("lib/y.js", [line("context", 9, 9), line("add", null, 10)]);

const RAW = [
  { path: "app/x.py", line: 5, severity: "high", rule: "B602", message: "shell", new: true },
  { path: "app/x.py", line: 4, severity: "low", rule: "F841", message: "unused", new: false },
  { path: "app/x.py", line: 5, severity: "critical", rule: "S1", message: "secret" },
  { path: "app/x.py", line: 40, severity: "medium", rule: "C901", message: "far away" },
  { path: "lib/y.js", line: 9, severity: "info", rule: "L1", message: "on context" },
  { path: "gone.py", line: 2, severity: "high", rule: "E1", message: "no such file in diff" },
];

describe("placing review comments in the diff", () => {
  it("puts each comment under the changed line of its file, by the new file's number", () => {
    const views = placeComments([X, Y], readComments(RAW), ALL);
    const x = views.find((v) => v.path === "app/x.py");
    const placed = linesOf(x)
      .filter((l) => l.comments.length > 0)
      .map((l) => [l.line.kind, l.line.new, l.comments.map((c) => c.rule)]);
    // Most severe first under one line.
    expect(placed).toEqual([
      ["add", 4, ["F841"]],
      ["add", 5, ["S1", "B602"]],
    ]);
  });

  it("never puts a comment on a deleted line, even one with the same number", () => {
    const views = placeComments([X], readComments([{ path: "app/x.py", line: 4, rule: "R" }]), ALL);
    const deleted = linesOf(views[0]).find((l) => l.line.kind === "delete");
    expect(deleted?.comments).toEqual([]);
    expect(linesOf(views[0]).find((l) => l.line.new === 4)?.comments).toHaveLength(1);
  });

  it("lists a comment whose line is not in the shown diff with its file", () => {
    const views = placeComments([X, Y], readComments(RAW), ALL);
    const x = views.find((v) => v.path === "app/x.py");
    expect(x?.outside.map((c) => [c.rule, c.line])).toEqual([["C901", 40]]);
    expect(x?.commentCount).toBe(4);
  });

  it("places a comment on an unchanged context line shown around a change", () => {
    const views = placeComments([X, Y], readComments(RAW), ALL);
    const y = views.find((v) => v.path === "lib/y.js");
    expect(linesOf(y)[0]?.comments.map((c) => c.rule)).toEqual(["L1"]);
    expect(y?.outside).toEqual([]);
  });

  it("keeps the diff's file order and adds files only comments name, without lines", () => {
    const views = placeComments([X, Y], readComments(RAW), ALL);
    expect(views.map((v) => [v.path, v.file !== null])).toEqual([
      ["app/x.py", true],
      ["lib/y.js", true],
      ["gone.py", false],
    ]);
    expect(views[2]?.outside.map((c) => c.rule)).toEqual(["E1"]);
  });

  it("lists every comment by file when no diff was kept", () => {
    const views = placeComments(null, readComments(RAW), ALL);
    expect(views.map((v) => [v.path, v.outside.length])).toEqual([
      ["app/x.py", 4],
      ["gone.py", 1],
      ["lib/y.js", 1],
    ]);
  });

  it("lists the comments of a binary or omitted file beside it", () => {
    const binary = file("img.png", [], { binary: true, omitted: "binary", hunks: [] });
    const views = placeComments([binary], readComments([{ path: "img.png", line: 1 }]), ALL);
    expect(views[0]?.outside).toHaveLength(1);
  });

  it("filters by severity, inline and outside alike, and keeps files without comments", () => {
    const views = placeComments([X, Y], readComments(RAW), new Set<Severity>(["high"]));
    const x = views.find((v) => v.path === "app/x.py");
    const inline = linesOf(x).flatMap((l) => l.comments.map((c) => c.rule));
    expect(inline).toEqual(["B602"]);
    expect(x?.outside).toEqual([]);
    expect(views.find((v) => v.path === "lib/y.js")?.commentCount).toBe(0);
    expect(views.map((v) => v.path)).toEqual(["app/x.py", "lib/y.js", "gone.py"]);
  });
});

describe("reading the review's comments", () => {
  it("drops a comment without a path and reads odd fields safely", () => {
    const comments = readComments([
      { line: 3, message: "no path" },
      { path: "a.py", line: "7", severity: "urgent", message: 42 },
      { path: "b.py", line: 2.5, new: false, category: "security" },
    ]);
    expect(comments.map((c) => [c.path, c.line, c.severity, c.message, c.isNew])).toEqual([
      ["a.py", null, "info", "(no message)", true],
      ["b.py", null, "info", "(no message)", false],
    ]);
    expect(comments[1]?.category).toBe("security");
  });

  it("counts the comments of each severity for the filter", () => {
    expect(severityCounts(readComments(RAW))).toEqual({
      critical: 1,
      high: 2,
      medium: 1,
      low: 1,
      info: 1,
    });
  });
});
