import { describe, expect, it } from "vitest";
import type { AgentPoint, TimeSeries } from "@/client/types.gen";
import { agentRows, mergeSeries, total } from "@/features/analytics/buckets";

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

  it("test_findings_give_a_column_per_severity_summed_by_month", () => {
    const findings: TimeSeries = {
      ...series("findings", [
        ["2026-01-31T00:00:00+01:00", 3],
        ["2026-02-01T00:00:00+01:00", 2],
        ["2026-02-02T00:00:00+01:00", 1],
      ]),
    };
    const parts = [
      { critical: 1, high: 2, medium: 0, low: 0, info: 0 },
      { critical: 0, high: 1, medium: 1, low: 0, info: 0 },
      { critical: 0, high: 0, medium: 0, low: 1, info: 0 },
    ];
    findings.points = findings.points.map((p, i) => ({ ...p, by_severity: parts[i] }));
    const rows = mergeSeries({ issues_opened: opened, findings }, "month");
    expect(rows).toEqual([
      {
        t: "2026-01",
        issues_opened: 2,
        findings_critical: 1,
        findings_high: 2,
        findings_medium: 0,
        findings_low: 0,
        findings_info: 0,
      },
      {
        t: "2026-02",
        issues_opened: 4,
        findings_critical: 0,
        findings_high: 1,
        findings_medium: 1,
        findings_low: 1,
        findings_info: 0,
      },
    ]);
  });

  it("test_an_agents_month_weighs_each_days_means_by_its_runs", () => {
    const point = (t: string, over: Partial<AgentPoint>): AgentPoint => ({
      t,
      runs: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      success_rate: null,
      timed: 0,
      mean_duration_seconds: null,
      scored: 0,
      mean_quality_score: null,
      ...over,
    });
    const points = [
      point("2026-02-01T00:00:00Z", {
        runs: 3,
        completed: 2,
        failed: 1,
        timed: 3,
        mean_duration_seconds: 10,
        scored: 2,
        mean_quality_score: 0.5,
      }),
      point("2026-02-02T00:00:00Z", {
        runs: 1,
        completed: 1,
        timed: 1,
        mean_duration_seconds: 50,
        scored: 1,
        mean_quality_score: 0.8,
      }),
      point("2026-03-01T00:00:00Z", {}),
    ];
    expect(agentRows(points, "day")[0]).toMatchObject({
      runs: 3,
      success_rate: 66.7,
      mean_duration_seconds: 10,
    });
    expect(agentRows(points, "month")).toEqual([
      {
        t: "2026-02",
        runs: 4,
        completed: 3,
        failed: 1,
        cancelled: 0,
        success_rate: 75,
        mean_duration_seconds: 20,
        mean_quality_score: 0.6,
      },
      {
        t: "2026-03",
        runs: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        success_rate: null,
        mean_duration_seconds: null,
        mean_quality_score: null,
      },
    ]);
  });
});
