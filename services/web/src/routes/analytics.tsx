/**
 * /analytics, /analytics/projects/$projectId, /analytics/agents/$agentId. The pages (and the
 * chart library with them) are one chunk of their own, fetched when Analytics is first opened.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { parseAnalyticsSearch } from "@/features/analytics/search";
import { appRoute } from "@/routes/app";

const pages = () => import("@/features/analytics/AnalyticsPages");

export const analyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics",
  validateSearch: parseAnalyticsSearch,
  component: lazyRouteComponent(pages, "AnalyticsDashboardPage"),
});

export const projectAnalyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics/projects/$projectId",
  validateSearch: parseAnalyticsSearch,
  component: lazyRouteComponent(pages, "ProjectAnalyticsPage"),
});

export const agentAnalyticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/analytics/agents/$agentId",
  validateSearch: parseAnalyticsSearch,
  component: lazyRouteComponent(pages, "AgentAnalyticsPage"),
});
