import { describe, expect, it } from "vitest";
import type { TimeSeries } from "@/client/types.gen";
import { mergeSeries, total } from "@/features/analytics/buckets";

function series(metric: TimeSeries["metric"], points: [string, number][]): TimeSeries {
  return {
    metric,
    interval: "day",
    tz: "Europe/Berlin",
    from: points[0]?.[0] ?? "",
    to: points.at(-1)?.[0] ?? "",
    unit: "count",
    points: points.map(([t, value]) => ({ t, value, count: value })),
  };
}

describe("buckets", () => {
  const opened = series("issues_opened", [
    ["2026-01-31T00:00:00+01:00", 2],
    ["2026-02-01T00:00:00+01:00", 3],
    ["2026-02-02T00:00:00+01:00", 1],
  ]);
  const resolved = series("issues_resolved", [
    ["2026-01-31T00:00:00+01:00", 0],
    ["2026-02-01T00:00:00+01:00", 1],
    ["2026-02-02T00:00:00+01:00", 4],
  ]);

  it("test_days_become_one_row_each_with_every_series", () => {
    const rows = mergeSeries({ issues_opened: opened, issues_resolved: resolved }, "day");
    expect(rows).toEqual([
      { t: "2026-01-31T00:00:00+01:00", issues_opened: 2, issues_resolved: 0 },
      { t: "2026-02-01T00:00:00+01:00", issues_opened: 3, issues_resolved: 1 },
      { t: "2026-02-02T00:00:00+01:00", issues_opened: 1, issues_resolved: 4 },
    ]);
    expect(total(rows, "issues_opened")).toBe(6);
  });

  it("test_a_month_sums_its_days_by_the_calendar_of_the_chosen_zone", () => {
    // 1 February 00:00 in Berlin is still 31 January in UTC: the zone's own month counts.
    const rows = mergeSeries({ issues_opened: opened, issues_resolved: resolved }, "month");
    expect(rows).toEqual([
      { t: "2026-01", issues_opened: 2, issues_resolved: 0 },
      { t: "2026-02", issues_opened: 4, issues_resolved: 5 },
    ]);
  });

  it("test_a_year_of_days_keeps_every_point", () => {
    const start = Date.UTC(2025, 0, 1);
    const days: [string, number][] = Array.from({ length: 366 }, (_, i) => [
      new Date(start + i * 86_400_000).toISOString(),
      i % 3,
    ]);
    const rows = mergeSeries({ issues_opened: series("issues_opened", days) }, "day");
    expect(rows).toHaveLength(366);
    expect(mergeSeries({ issues_opened: series("issues_opened", days) }, "month")).toHaveLength(13);
  });
});
