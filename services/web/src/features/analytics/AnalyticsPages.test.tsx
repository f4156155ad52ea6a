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
    const m = url.match(/^\/api\/v1\/analytics\/timeseries\/(\w+)$/);
    if (m) return jsonResponse(series(m[1] ?? "", "day", "Asia/Tokyo"));
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
});
