import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { me, OWNER, TOKENS } from "@/test/data";
import { jsonResponse } from "@/test/render";

const RUNS = { total: 0, by_status: {}, success_rate: null, mean_duration_seconds: null };
const DASHBOARD = {
  projects: 1,
  issues: { total: 7, open: 4, resolved: 3, mean_time_to_resolve_seconds: 5400 },
  pull_requests: {
    tracked: 0,
    open: 0,
    merged: 0,
    closed: 0,
    reviews_requested: 0,
    reviewed: 0,
    mean_review_turnaround_seconds: null,
  },
  runs: RUNS,
  quality: { latest: null, latest_at: null, mean: null },
  findings: {
    runs_reported: 2,
    total: 9,
    by_severity: { critical: 1, high: 3, medium: 2, low: 3, info: 0 },
  },
};
const AGENT_ID = "7d1e3a52-6a57-4f5e-9d39-0d3b5b3c1a10";
const PROJECT_ID = "5b9d4c0e-1f2a-4c3b-8d7e-6f5a4b3c2d1e";

function agentPoint(t: string, runs: number) {
  return {
    t,
    runs,
    completed: runs,
    failed: 0,
    cancelled: 0,
    success_rate: runs ? 1 : null,
    timed: runs,
    mean_duration_seconds: runs ? 30 : null,
    scored: runs,
    mean_quality_score: runs ? 0.75 : null,
  };
}

const AGENT_PERFORMANCE = {
  interval: "day",
  tz: "Asia/Tokyo",
  from: "2026-01-31T00:00:00+09:00",
  to: "2026-02-02T00:00:00+09:00",
  agents: [
    {
      agent_id: AGENT_ID,
      project_id: PROJECT_ID,
      agent_type: "code_analyzer",
      name: "Nightly analysis",
      runs: 3,
      points: [
        agentPoint("2026-01-31T00:00:00+09:00", 1),
        agentPoint("2026-02-01T00:00:00+09:00", 2),
      ],
    },
  ],
};

function series(metric: string, interval: string, tz: string) {
  // Two days in the chosen zone, either side of a month's end.
  const value = metric === "issues_opened" ? 2 : 1;
  return {
    metric,
    interval,
    tz,
    from: "2026-01-31T00:00:00+09:00",
    to: "2026-02-02T00:00:00+09:00",
    unit: "count",
    points: [
      { t: "2026-01-31T00:00:00+09:00", value, count: value },
      { t: "2026-02-01T00:00:00+09:00", value, count: value },
    ],
  };
}

function serve(path: string) {
  return renderApp(path, (_method, url) => {
    if (url === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (url === "/api/v1/auth/me") return jsonResponse(me(OWNER));
    if (url === "/api/v1/projects")
      return jsonResponse({ items: [], total: 0, limit: 100, offset: 0 });
    if (url === "/api/v1/analytics/dashboard") return jsonResponse(DASHBOARD);
    if (url === "/api/v1/analytics/performance") return jsonResponse({ detail: "x" }, 503);
    if (url === "/api/v1/analytics/agent-performance") return jsonResponse(AGENT_PERFORMANCE);
    if (url === `/api/v1/analytics/agents/${AGENT_ID}`)
      return jsonResponse({
        agent_id: AGENT_ID,
        project_id: PROJECT_ID,
        runs: { ...RUNS, total: 3 },
        quality: { latest: 0.75, latest_at: null, mean: 0.75 },
        assigned_issues: { open: 0, resolved: 0 },
      });
    const m = url.match(/^\/api\/v1\/analytics\/timeseries\/(\w+)$/);
    if (m) {
      const body = series(m[1] ?? "", "day", "Asia/Tokyo");
      if (m[1] === "findings")
        body.points = body.points.map((p) => ({
          ...p,
          by_severity: { critical: 0, high: p.value, medium: 0, low: 0, info: 0 },
        }));
      return jsonResponse(body);
    }
    return undefined;
  });
}

describe("the analytics dashboard", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_the_urls_range_bucket_and_zone_reach_the_series_queries", async () => {
    const { router, calls } = serve("/analytics?range=year&bucket=month&tz=Asia/Tokyo");
    expect(await screen.findByText("Mean time to resolve")).toBeInTheDocument();
    const opened = await waitFor(() => {
      const call = calls.find((c) =>
        c.path.startsWith("/api/v1/analytics/timeseries/issues_opened"),
      );
      expect(call).toBeDefined();
      return call;
    });
    // A month is not an API interval: the page asks for days and sums them.
    expect(opened?.path).toContain("range=year");
    expect(opened?.path).toContain("interval=day");
    expect(opened?.path).toContain("tz=Asia%2FTokyo");
    // 31 January and 1 February (Tokyo) are two months: the totals and rows say so.
    const summary = await screen.findByRole("img", { name: /^Issues opened and resolved/ });
    expect(summary.getAttribute("aria-label")).toContain("2 months from 2026-01 to 2026-02");
    expect(summary.getAttribute("aria-label")).toContain("Opened 4, Resolved 2");

    const user = userEvent.setup();
    await user.click(screen.getByRole("radio", { name: "Week" }));
    await waitFor(() =>
      expect(router.state.location.search).toEqual({
        range: "year",
        bucket: "week",
        tz: "Asia/Tokyo",
      }),
    );
    await waitFor(() => expect(calls.some((c) => c.path.includes("interval=week"))).toBe(true));
    await user.selectOptions(screen.getByLabelText("Range"), "month");
    // The default range leaves the URL.
    await waitFor(() =>
      expect(router.state.location.search).toEqual({ bucket: "week", tz: "Asia/Tokyo" }),
    );
  });

  it("test_the_findings_chart_and_the_agents_list_show_the_apis_numbers", async () => {
    serve("/analytics?tz=Asia/Tokyo");
    const findings = await screen.findByRole("img", { name: /^Findings by severity/ });
    expect(findings.getAttribute("aria-label")).toContain("Critical 0, High 2, Medium 0");
    const link = await screen.findByRole("link", { name: "Nightly analysis" });
    expect(link.getAttribute("href")).toBe(`/analytics/agents/${AGENT_ID}`);
    const row = link.closest("tr");
    expect(row?.textContent).toContain("code_analyzer");
    expect(row?.textContent).toContain("100%");
  });
});

describe("an agent's analytics page", () => {
  it("test_its_charts_follow_the_agents_series_and_query_its_window", async () => {
    const { calls } = serve(`/analytics/agents/${AGENT_ID}?range=year&tz=Asia/Tokyo`);
    expect(
      await screen.findByRole("heading", { level: 1, name: "Nightly analysis analytics" }),
    ).toBeInTheDocument();
    const runs = await screen.findByRole("img", { name: /^Finished runs by status/ });
    expect(runs.getAttribute("aria-label")).toContain("2 days");
    expect(runs.getAttribute("aria-label")).toContain("Completed 3, Failed 0");
    const rate = screen.getByRole("img", { name: /^Success rate/ });
    expect(rate.getAttribute("aria-label")).toContain("(percent)");
    const call = calls.find((c) => c.path.startsWith("/api/v1/analytics/agent-performance"));
    expect(call?.path).toContain(`agent_id=${AGENT_ID}`);
    expect(call?.path).toContain("range=year");
    expect(call?.path).toContain("tz=Asia%2FTokyo");
  });
});
