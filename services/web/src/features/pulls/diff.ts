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
