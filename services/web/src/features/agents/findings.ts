/** The findings table's filter, search and sort, on the report's findings (thousands at most). */

export interface Finding {
  /** Its place in the report: a stable key whatever the sort. */
  id: number;
  tool: string;
  rule: string;
  severity: string;
  message: string;
  path: string;
  line: number;
  category?: string;
  kind?: string;
  test?: boolean;
  fingerprint?: string;
}

export const SEVERITY_ORDER = ["critical", "high", "medium", "low", "info"] as const;
export type FindingSort = "severity" | "file" | "tool";
export const FINDINGS_PAGE_SIZE = 50;

export interface FindingQuery {
  severity: string;
  tool: string;
  text: string;
  sort: FindingSort;
}

function rank(severity: string): number {
  const index = (SEVERITY_ORDER as readonly string[]).indexOf(severity);
  return index < 0 ? SEVERITY_ORDER.length : index;
}

/** The report's findings, whatever shape the run type gives them (analysis or review). */
export function findingsOf(result: Record<string, unknown> | undefined): Finding[] {
  const raw = result?.findings ?? result?.comments;
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((item): item is Record<string, unknown> => !!item && typeof item === "object")
    .map((item, id) => ({
      id,
      tool: String(item.tool ?? ""),
      rule: String(item.rule ?? ""),
      severity: String(item.severity ?? "info"),
      message: String(item.message ?? ""),
      path: String(item.path ?? ""),
      line: Number(item.line ?? 0),
      category: item.category === undefined ? undefined : String(item.category),
      kind: item.kind === undefined ? undefined : String(item.kind),
      test: item.test === true,
      fingerprint: item.fingerprint === undefined ? undefined : String(item.fingerprint),
    }));
}

const compareLocation = (a: Finding, b: Finding) => a.path.localeCompare(b.path) || a.line - b.line;

const COMPARE: Record<FindingSort, (a: Finding, b: Finding) => number> = {
  severity: (a, b) => rank(a.severity) - rank(b.severity) || compareLocation(a, b),
  file: (a, b) => compareLocation(a, b) || rank(a.severity) - rank(b.severity),
  tool: (a, b) =>
    a.tool.localeCompare(b.tool) || a.rule.localeCompare(b.rule) || compareLocation(a, b),
};

export function selectFindings(findings: Finding[], query: FindingQuery): Finding[] {
  const text = query.text.trim().toLowerCase();
  const kept = findings.filter(
    (f) =>
      (!query.severity || f.severity === query.severity) &&
      (!query.tool || f.tool === query.tool) &&
      (!text ||
        f.message.toLowerCase().includes(text) ||
        f.path.toLowerCase().includes(text) ||
        f.rule.toLowerCase().includes(text)),
  );
  return kept.sort(COMPARE[query.sort]);
}
