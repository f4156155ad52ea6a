/** Series from the API merged into rows for the charts, the table and the export. */
import type { AgentPoint, Point, TimeSeries } from "@/client/types.gen";
import type { Bucket } from "@/features/analytics/search";

export interface Row {
  /** The bucket's start as the API wrote it, in the chosen zone (a month: "YYYY-MM"). */
  t: string;
  [series: string]: number | string | null;
}

/**
 * The bucket a point belongs to. The API writes each point's start in the requested zone
 * (`2026-03-01T00:00:00+01:00`), so the calendar month is the text's first seven characters:
 * no reinterpretation in the browser's own zone.
 */
function bucketKey(point: Point, bucket: Bucket): string {
  return bucket === "month" ? point.t.slice(0, 7) : point.t;
}

/** The severities of findings, most severe first (the API's `by_severity` keys). */
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;

/** The columns a series fills: its own, and one per severity for the findings metric. */
function columnsOf(name: string, series: TimeSeries): string[] {
  return series.metric === "findings" ? SEVERITIES.map((s) => `${name}_${s}`) : [name];
}

/**
 * One row per bucket, one column per series (a count: summed over a month's days); the
 * findings series gives a column per severity (`findings_high`, …) from each point's breakdown.
 */
export function mergeSeries(series: Record<string, TimeSeries>, bucket: Bucket): Row[] {
  const rows = new Map<string, Row>();
  const names = Object.keys(series);
  const columns = names.flatMap((n) => (series[n] ? columnsOf(n, series[n]) : []));
  for (const name of names) {
    const one = series[name];
    if (!one) continue;
    const byPart = one.metric === "findings";
    for (const point of one.points) {
      const key = bucketKey(point, bucket);
      let row = rows.get(key);
      if (!row) {
        row = { t: key };
        for (const column of columns) row[column] = 0;
        rows.set(key, row);
      }
      if (byPart) {
        for (const s of SEVERITIES) {
          const column = `${name}_${s}`;
          row[column] = (row[column] as number) + (point.by_severity?.[s] ?? 0);
        }
      } else {
        row[name] = (row[name] as number) + (point.value ?? 0);
      }
    }
  }
  return sortRows([...rows.values()]);
}

function sortRows(rows: Row[]): Row[] {
  return rows.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
}

/** Sums for one bucket of an agent's points (a month adds up its days). */
interface AgentSums {
  runs: number;
  completed: number;
  failed: number;
  cancelled: number;
  timed: number;
  seconds: number;
  scored: number;
  score: number;
}

/**
 * An agent's points as rows: runs by status, success rate in percent, mean duration in
 * seconds and mean score. A month's means are weighted by the runs behind each day's mean
 * (the API's `timed` and `scored`), so they equal the API's figures over those days.
 */
export function agentRows(points: AgentPoint[], bucket: Bucket): Row[] {
  const sums = new Map<string, AgentSums>();
  for (const p of points) {
    const key = bucket === "month" ? p.t.slice(0, 7) : p.t;
    const s = sums.get(key) ?? {
      runs: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      timed: 0,
      seconds: 0,
      scored: 0,
      score: 0,
    };
    s.runs += p.runs;
    s.completed += p.completed;
    s.failed += p.failed;
    s.cancelled += p.cancelled;
    s.timed += p.timed;
    s.seconds += (p.mean_duration_seconds ?? 0) * p.timed;
    s.scored += p.scored;
    s.score += (p.mean_quality_score ?? 0) * p.scored;
    sums.set(key, s);
  }
  const round = (v: number, digits: number) => Number(v.toFixed(digits));
  return sortRows(
    [...sums.entries()].map(([t, s]) => ({
      t,
      runs: s.runs,
      completed: s.completed,
      failed: s.failed,
      cancelled: s.cancelled,
      success_rate:
        s.completed + s.failed ? round((100 * s.completed) / (s.completed + s.failed), 1) : null,
      mean_duration_seconds: s.timed ? round(s.seconds / s.timed, 1) : null,
      mean_quality_score: s.scored ? round(s.score / s.scored, 2) : null,
    })),
  );
}

/** A series' total over the rows (what the chart's summary and legend say). */
export function total(rows: Row[], name: string): number {
  return rows.reduce((sum, row) => sum + Number(row[name] ?? 0), 0);
}

/** How a bucket's start is written on an axis and in the table. */
export function bucketLabel(t: string, bucket: Bucket): string {
  if (bucket === "month") return t;
  return t.slice(0, 10);
}
