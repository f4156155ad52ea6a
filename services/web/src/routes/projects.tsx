/**
 * /projects and /projects/$projectId with its tabs. The Issues and Pull requests tabs belong to
 * features/issues and features/pulls (the web-pages branch); their routes are declared here.
 */
import { createRoute, redirect } from "@tanstack/react-router";
import { AgentsTab } from "@/features/agents/AgentsTab";
import { ProjectRunsTab } from "@/features/agents/ProjectRunsTab";
import { validatePageSearch } from "@/features/agents/pageSearch";
import { validateProjectRunsSearch } from "@/features/agents/runsSearch";
import { IssuesTab } from "@/features/issues/IssuesTab";
import { parseIssueSearch } from "@/features/issues/search";
import { MembersTab } from "@/features/projects/MembersTab";
import { ProjectLayout } from "@/features/projects/ProjectLayout";
import { ProjectsPage } from "@/features/projects/ProjectsPage";
import { SettingsTab } from "@/features/projects/SettingsTab";
import { PullsTab } from "@/features/pulls/PullsTab";
import { validatePullsSearch } from "@/features/pulls/search";
import { appRoute } from "@/routes/app";

export interface ProjectsSearch {
  q?: string;
  page?: number;
}

export const projectsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/projects",
  validateSearch: (search: Record<string, unknown>): ProjectsSearch => {
    const out: ProjectsSearch = {};
    if (typeof search.q === "string" && search.q) out.q = search.q;
    const page = Number(search.page);
    if (Number.isInteger(page) && page > 1) out.page = page;
    return out;
  },
  component: ProjectsPage,
});

export const projectRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/projects/$projectId",
  component: ProjectLayout,
});

export const projectIndexRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/",
  beforeLoad: ({ params }) => {
    throw redirect({ to: "/projects/$projectId/issues", params, replace: true });
  },
});

export const projectIssuesRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/issues",
  validateSearch: parseIssueSearch,
  component: IssuesTab,
});

export const projectPullsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/pulls",
  validateSearch: validatePullsSearch,
  component: PullsTab,
});

export const projectAgentsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/agents",
  validateSearch: validatePageSearch,
  component: AgentsTab,
});

export const projectRunsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/runs",
  validateSearch: validateProjectRunsSearch,
  component: ProjectRunsTab,
});

export const projectMembersRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/members",
  component: MembersTab,
});

export const projectSettingsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/settings",
  component: SettingsTab,
});
