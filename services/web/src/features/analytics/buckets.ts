/** Series from the API merged into rows for the charts, the table and the export. */
import type { Point, TimeSeries } from "@/client/types.gen";
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

/** One row per bucket, one column per series (a count: summed over a month's days). */
export function mergeSeries(series: Record<string, TimeSeries>, bucket: Bucket): Row[] {
  const rows = new Map<string, Row>();
  const names = Object.keys(series);
  for (const name of names) {
    for (const point of series[name]?.points ?? []) {
      const key = bucketKey(point, bucket);
      let row = rows.get(key);
      if (!row) {
        row = { t: key };
        for (const other of names) row[other] = 0;
        rows.set(key, row);
      }
      row[name] = (row[name] as number) + (point.value ?? 0);
    }
  }
  return [...rows.values()].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
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
