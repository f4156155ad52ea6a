/**
 * /analytics, /analytics/projects/$projectId, /analytics/agents/$agentId. The pages (and the
 * chart library with them) are one chunk of their own, fetched when Analytics is first opened.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { agentFiguresQuery, dashboardQuery, projectFiguresQuery } from "@/api/analytics";
import { parseAnalyticsSearch } from "@/features/analytics/search";
import { appRoute } from "@/routes/app";

const pages = () => import("@/features/analytics/AnalyticsPages");

export const analyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics",
  validateSearch: parseAnalyticsSearch,
  // Started, not awaited: the page shows at once and its figures arrive first (see the query).
  loader: ({ context }) => void context.queryClient.prefetchQuery(dashboardQuery()),
  component: lazyRouteComponent(pages, "AnalyticsDashboardPage"),
});

export const projectAnalyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics/projects/$projectId",
  validateSearch: parseAnalyticsSearch,
  loader: ({ context, params }) =>
    void context.queryClient.prefetchQuery(projectFiguresQuery(params.projectId)),
  component: lazyRouteComponent(pages, "ProjectAnalyticsPage"),
});

export const agentAnalyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics/agents/$agentId",
  validateSearch: parseAnalyticsSearch,
  loader: ({ context, params }) =>
    void context.queryClient.prefetchQuery(agentFiguresQuery(params.agentId)),
  component: lazyRouteComponent(pages, "AgentAnalyticsPage"),
});
