/**
 * The analytics service (/api/v1/analytics): figures and series over the projects the caller
 * can see (all of them for an admin); the API does the scoping.
 */
import { keepPreviousData, queryOptions, useQueries, useQuery } from "@tanstack/react-query";
import {
  getAgentApiV1AnalyticsAgentsAgentIdGet,
  getAgentPerformanceApiV1AnalyticsAgentPerformanceGet,
  getDashboardApiV1AnalyticsDashboardGet,
  getPerformanceApiV1AnalyticsPerformanceGet,
  getProjectApiV1AnalyticsProjectsProjectIdGet,
  getTimeseriesApiV1AnalyticsTimeseriesMetricGet,
} from "@/client/sdk.gen";
import type { Metric, TimeSeries } from "@/client/types.gen";
import type { SeriesQuery } from "@/features/analytics/search";

export const analyticsKeys = {
  all: ["analytics"] as const,
  dashboard: () => ["analytics", "dashboard"] as const,
  project: (id: string) => ["analytics", "project", id] as const,
  agent: (id: string) => ["analytics", "agent", id] as const,
  series: (metric: Metric, q: SeriesQuery, projectId?: string) =>
    ["analytics", "series", metric, q.range, q.interval, q.tz, projectId ?? null] as const,
  performance: (range: string) => ["analytics", "performance", range] as const,
  agentPerformance: (q: SeriesQuery, scope: AgentScope) =>
    [
      "analytics",
      "agent-performance",
      q.range,
      q.interval,
      q.tz,
      scope.projectId ?? null,
      scope.agentId ?? null,
    ] as const,
};

/** Whose agents: the caller's projects (no filter), one project's, or one agent. */
export interface AgentScope {
  projectId?: string;
  agentId?: string;
  limit?: number;
}

/**
 * The figures' queries, also prefetched by the routes' loaders: a page's charts subscribe
 * first (children's effects run before their parent's), so without it the figures' request
 * would queue behind every series request on the browser's six connections.
 */
export const dashboardQuery = () =>
  queryOptions({
    queryKey: analyticsKeys.dashboard(),
    queryFn: async () =>
      (await getDashboardApiV1AnalyticsDashboardGet({ throwOnError: true })).data,
  });

export const projectFiguresQuery = (projectId: string) =>
  queryOptions({
    queryKey: analyticsKeys.project(projectId),
    queryFn: async () =>
      (
        await getProjectApiV1AnalyticsProjectsProjectIdGet({
          path: { project_id: projectId },
          throwOnError: true,
        })
      ).data,
  });

export const agentFiguresQuery = (agentId: string) =>
  queryOptions({
    queryKey: analyticsKeys.agent(agentId),
    queryFn: async () =>
      (
        await getAgentApiV1AnalyticsAgentsAgentIdGet({
          path: { agent_id: agentId },
          throwOnError: true,
        })
      ).data,
  });

export function useDashboard() {
  return useQuery(dashboardQuery());
}

export function useProjectFigures(projectId: string) {
  return useQuery(projectFiguresQuery(projectId));
}

export function useAgentFigures(agentId: string) {
  return useQuery(agentFiguresQuery(agentId));
}

/** Several metrics over one window; `data` is set once every one has arrived. */
export function useSeries(metrics: Metric[], q: SeriesQuery, projectId?: string) {
  return useQueries({
    queries: metrics.map((metric) => ({
      queryKey: analyticsKeys.series(metric, q, projectId),
      queryFn: async () =>
        (
          await getTimeseriesApiV1AnalyticsTimeseriesMetricGet({
            path: { metric },
            query: { range: q.range, interval: q.interval, tz: q.tz, project_id: projectId },
            throwOnError: true,
          })
        ).data,
      // The previous range stays on screen while another loads.
      placeholderData: keepPreviousData,
    })),
    combine: (results) => {
      const error = results.find((r) => r.error)?.error ?? null;
      const ready = results.every((r) => r.data);
      const data = ready
        ? Object.fromEntries(metrics.map((m, i) => [m, results[i]?.data as TimeSeries]))
        : undefined;
      return {
        data,
        error,
        isFetching: results.some((r) => r.isFetching),
        refetch: () => {
          for (const r of results) void r.refetch();
        },
      };
    },
  });
}

export function usePerformance(range: SeriesQuery["range"]) {
  return useQuery({
    queryKey: analyticsKeys.performance(range),
    queryFn: async () =>
      (await getPerformanceApiV1AnalyticsPerformanceGet({ query: { range }, throwOnError: true }))
        .data,
    placeholderData: keepPreviousData,
  });
}

/** Per agent and bucket: finished runs, success rate, mean duration and score. */
export function useAgentPerformance(q: SeriesQuery, scope: AgentScope) {
  return useQuery({
    queryKey: analyticsKeys.agentPerformance(q, scope),
    queryFn: async () =>
      (
        await getAgentPerformanceApiV1AnalyticsAgentPerformanceGet({
          query: {
            range: q.range,
            interval: q.interval,
            tz: q.tz,
            project_id: scope.projectId,
            agent_id: scope.agentId,
            limit: scope.limit,
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}
