/**
 * Where a review's line comments go in the diff it looked at: under the changed line of their
 * file (a comment names the line's number in the new file), or, when that line is not in the
 * shown diff (a file cut by the diff's limits, a binary file, no diff kept), in a list beside
 * the file. Pure functions: the page renders what these return.
 */
import type { DiffFileOut, DiffHunkOut, DiffLineOut } from "@/client/types.gen";

export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ReviewComment {
  /** Stable within one review: for React keys and anchors. */
  key: string;
  path: string;
  line: number | null;
  severity: Severity;
  category: string | null;
  rule: string | null;
  message: string;
  suggestion: string | null;
  /** New in this pull request (false: it was there at the base already). */
  isNew: boolean;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * A review's comments as the issues service stores them (agent output: loosely typed JSON),
 * read defensively: a comment without a path is dropped, an unknown severity counts as info.
 */
export function readComments(raw: readonly Record<string, unknown>[]): ReviewComment[] {
  const out: ReviewComment[] = [];
  raw.forEach((item, index) => {
    const path = text(item.path);
    if (!path) return;
    const line =
      typeof item.line === "number" && Number.isInteger(item.line) && item.line > 0
        ? item.line
        : null;
    const severity = SEVERITIES.includes(item.severity as Severity)
      ? (item.severity as Severity)
      : "info";
    out.push({
      key: `c${index}`,
      path,
      line,
      severity,
      category: text(item.category),
      rule: text(item.rule),
      message: text(item.message) ?? "(no message)",
      suggestion: text(item.suggestion),
      isNew: item.new !== false,
    });
  });
  return out;
}

export interface PlacedLine {
  line: DiffLineOut;
  comments: ReviewComment[];
}

export interface PlacedHunk {
  hunk: DiffHunkOut;
  lines: PlacedLine[];
}

export interface FileView {
  path: string;
  /** The file as the diff shows it; null when the diff does not list it (or none was kept). */
  file: DiffFileOut | null;
  hunks: PlacedHunk[];
  /** Comments of this file whose line the shown diff does not hold. */
  outside: ReviewComment[];
  /** Comments shown for this file (inline and outside), after the severity filter. */
  commentCount: number;
}

function bySeverityThenLine(a: ReviewComment, b: ReviewComment): number {
  const rank = SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity);
  return rank !== 0 ? rank : (a.line ?? 0) - (b.line ?? 0);
}

/**
 * Files → hunks → lines with each shown comment under its line. `severities`: the severities
 * to show (the others are filtered out). Files keep the diff's order; files only the comments
 * name come after them, by path.
 */
export function placeComments(
  files: readonly DiffFileOut[] | null,
  comments: readonly ReviewComment[],
  severities: ReadonlySet<Severity>,
): FileView[] {
  const shown = comments.filter((c) => severities.has(c.severity));
  const byPath = new Map<string, ReviewComment[]>();
  for (const comment of shown) {
    const list = byPath.get(comment.path) ?? [];
    list.push(comment);
    byPath.set(comment.path, list);
  }
  const views: FileView[] = [];
  for (const file of files ?? []) {
    views.push(placeInFile(file, byPath.get(file.path) ?? []));
    byPath.delete(file.path);
  }
  const rest = [...byPath.keys()].sort();
  for (const path of rest) {
    const outside = (byPath.get(path) ?? []).slice().sort(bySeverityThenLine);
    views.push({ path, file: null, hunks: [], outside, commentCount: outside.length });
  }
  return views;
}

function placeInFile(file: DiffFileOut, comments: readonly ReviewComment[]): FileView {
  // A comment names a line of the new file: an added line, or an unchanged one around it.
  const slots = new Map<number, PlacedLine>();
  const hunks: PlacedHunk[] = file.hunks.map((hunk) => ({
    hunk,
    lines: hunk.lines.map((line) => {
      const placed: PlacedLine = { line, comments: [] };
      if (line.new !== null && line.new !== undefined && line.kind !== "delete") {
        const taken = slots.get(line.new);
        if (!taken || (taken.line.kind !== "add" && line.kind === "add")) {
          slots.set(line.new, placed);
        }
      }
      return placed;
    }),
  }));
  const outside: ReviewComment[] = [];
  for (const comment of comments) {
    const slot = comment.line !== null ? slots.get(comment.line) : undefined;
    if (slot) slot.comments.push(comment);
    else outside.push(comment);
  }
  for (const slot of slots.values()) slot.comments.sort(bySeverityThenLine);
  outside.sort(bySeverityThenLine);
  return { path: file.path, file, hunks, outside, commentCount: comments.length };
}

/** How many comments of each severity (before filtering): the filter's labels. */
export function severityCounts(comments: readonly ReviewComment[]): Record<Severity, number> {
  const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const comment of comments) counts[comment.severity] += 1;
  return counts;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

function unquote(path: string): string {
  // git quotes a path with unusual characters; the quotes are not part of the name.
  return path.startsWith('"') && path.endsWith('"') ? path.slice(1, -1) : path;
}

/**
 * The files of a unified diff as text (what `git diff` prints; an agent's patch), in the shape
 * the diff view shows. Every line stays text. Lines outside a hunk (index, mode) are dropped;
 * a binary file has no hunks.
 */
export function parseUnifiedDiff(text: string): DiffFileOut[] {
  const files: DiffFileOut[] = [];
  let file: DiffFileOut | null = null;
  let hunk: DiffHunkOut | null = null;
  let oldNo = 0;
  let newNo = 0;
  const start = (path: string): DiffFileOut => {
    const next: DiffFileOut = {
      path,
      old_path: null,
      status: "modified",
      binary: false,
      additions: 0,
      deletions: 0,
      truncated: false,
      omitted: null,
      hunks: [],
    };
    files.push(next);
    hunk = null;
    return next;
  };
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const header = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
    if (header) {
      file = start(unquote(header[2] ?? ""));
      continue;
    }
    const hunkHeader = HUNK.exec(line);
    if (hunkHeader) {
      file ??= start("(unnamed file)");
      oldNo = Number(hunkHeader[1]);
      newNo = Number(hunkHeader[3]);
      hunk = {
        old_start: oldNo,
        old_lines: Number(hunkHeader[2] ?? 1),
        new_start: newNo,
        new_lines: Number(hunkHeader[4] ?? 1),
        section: hunkHeader[5] ?? "",
        lines: [],
      };
      file.hunks.push(hunk);
      continue;
    }
    if (
      hunk &&
      file &&
      (oldNo < hunk.old_start + hunk.old_lines || newNo < hunk.new_start + hunk.new_lines)
    ) {
      const body = line.slice(1);
      if (line.startsWith("+")) {
        hunk.lines.push({ kind: "add", old: null, new: newNo++, text: body });
        file.additions = (file.additions ?? 0) + 1;
        continue;
      }
      if (line.startsWith("-")) {
        hunk.lines.push({ kind: "delete", old: oldNo++, new: null, text: body });
        file.deletions = (file.deletions ?? 0) + 1;
        continue;
      }
      if (line.startsWith(" ") || line === "") {
        // An empty line within the hunk's counts is an unchanged empty line.
        hunk.lines.push({ kind: "context", old: oldNo++, new: newNo++, text: body });
        continue;
      }
    }
    if (line.startsWith("\\")) continue; // "\ No newline at end of file"
    hunk = null;
    if (line.startsWith("--- ") && (!file || file.hunks.length > 0)) {
      // A patch without git's headers: its files start at their "---" line.
      file = start(unquote(line.slice(4).replace(/^a\//, "")));
    }
    if (!file) continue;
    if (line === "--- /dev/null" || line.startsWith("new file mode")) {
      file.status = "added";
    } else if (line === "+++ /dev/null" || line.startsWith("deleted file mode")) {
      file.status = "deleted";
    } else if (line.startsWith("+++ ")) {
      file.path = unquote(line.slice(4).replace(/^b\//, ""));
    } else if (line.startsWith("rename from ")) {
      file.old_path = unquote(line.slice("rename from ".length));
      file.status = "renamed";
    } else if (line.startsWith("Binary files ") || line === "GIT binary patch") {
      file.binary = true;
      file.omitted = "binary";
      file.additions = null;
      file.deletions = null;
    }
  }
  return files;
}
