import { describe, expect, it } from "vitest";
import type { DiffFileOut, DiffLineOut } from "@/client/types.gen";
import {
  type FileView,
  type PlacedLine,
  parseUnifiedDiff,
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

describe("parseUnifiedDiff", () => {
  it("test_a_git_diff_reads_as_files_hunks_and_numbered_lines", () => {
    const files = parseUnifiedDiff(
      [
        "diff --git a/app/calc.py b/app/calc.py",
        "index 111..222 100644",
        "--- a/app/calc.py",
        "+++ b/app/calc.py",
        "@@ -3,4 +3,4 @@ def div(a, b):",
        "     if b == 0:",
        "-        return 0",
        "+        raise ZeroDivisionError",
        "",
        "     return a / b",
        "\\ No newline at end of file",
        "diff --git a/tests/test_new.py b/tests/test_new.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/tests/test_new.py",
        "@@ -0,0 +1,2 @@",
        "+def test_div():",
        "+    pass",
        "diff --git a/logo.png b/logo.png",
        "Binary files a/logo.png and b/logo.png differ",
        "",
      ].join("\n"),
    );
    expect(files.map((f) => [f.path, f.status, f.additions, f.deletions])).toEqual([
      ["app/calc.py", "modified", 1, 1],
      ["tests/test_new.py", "added", 2, 0],
      ["logo.png", "modified", null, null],
    ]);
    const [hunk] = files[0]?.hunks ?? [];
    expect(hunk?.section).toBe("def div(a, b):");
    expect(hunk?.lines).toEqual([
      { kind: "context", old: 3, new: 3, text: "    if b == 0:" },
      { kind: "delete", old: 4, new: null, text: "        return 0" },
      { kind: "add", old: null, new: 4, text: "        raise ZeroDivisionError" },
      // An empty line within the hunk's counts is an unchanged empty line.
      { kind: "context", old: 5, new: 5, text: "" },
      { kind: "context", old: 6, new: 6, text: "    return a / b" },
    ]);
    expect(files[1]?.hunks[0]?.lines.map((l) => l.new)).toEqual([1, 2]);
    expect(files[2]).toMatchObject({ binary: true, omitted: "binary", hunks: [] });
  });

  it("test_a_patch_without_git_headers_and_a_deleted_or_renamed_file", () => {
    const files = parseUnifiedDiff(
      [
        "--- a/one.py",
        "+++ b/one.py",
        "@@ -1 +1 @@",
        "-a",
        "+b",
        "--- a/two.py",
        "+++ /dev/null",
        "@@ -1,1 +0,0 @@",
        "-gone",
        "diff --git a/old.py b/new.py",
        "similarity index 100%",
        "rename from old.py",
        "rename to new.py",
      ].join("\n"),
    );
    expect(files.map((f) => [f.path, f.status, f.old_path])).toEqual([
      ["one.py", "modified", null],
      ["two.py", "deleted", null],
      ["new.py", "renamed", "old.py"],
    ]);
    expect(files[0]?.hunks[0]?.lines.map((l) => l.kind)).toEqual(["delete", "add"]);
  });

  it("test_nothing_that_is_not_a_diff_yields_no_files", () => {
    expect(parseUnifiedDiff("")).toEqual([]);
    expect(parseUnifiedDiff("just some words\nand more")).toEqual([]);
  });
});
