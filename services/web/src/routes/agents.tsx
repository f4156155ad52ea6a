/**
 * /agents (every agent one can see), an agent's page and a run's page. The agent and run pages
 * are chunks of their own: the live log and the findings table load when first needed.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { AgentsPage } from "@/features/agents/AgentsPage";
import { validatePageSearch } from "@/features/agents/pageSearch";
import { appRoute } from "@/routes/app";

export const agentsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/agents",
  validateSearch: validatePageSearch,
  component: AgentsPage,
});

export const agentRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/agents/$agentId",
  validateSearch: validatePageSearch,
  component: lazyRouteComponent(() => import("@/features/agents/AgentPage"), "AgentPage"),
});

export const runRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/runs/$runId",
  component: lazyRouteComponent(() => import("@/features/agents/RunPage"), "RunPage"),
});
