import { rootRoute } from "@/routes/__root";
import { appRoute, homeRoute } from "@/routes/app";
import {
  projectIndexRoute,
  projectIssueRoute,
  projectIssuesRoute,
  projectMembersRoute,
  projectPullsRoute,
  projectRoute,
  projectSettingsRoute,
  projectsRoute,
} from "@/routes/projects";
import { registerRoute, resetPasswordRoute, signInRoute } from "@/routes/public";
import { pullRoute } from "@/routes/pulls";

export const routeTree = rootRoute.addChildren([
  signInRoute,
  registerRoute,
  resetPasswordRoute,
  appRoute.addChildren([
    homeRoute,
    projectsRoute,
    projectRoute.addChildren([
      projectIndexRoute,
      projectIssuesRoute,
      projectIssueRoute,
      projectPullsRoute,
      projectMembersRoute,
      projectSettingsRoute,
    ]),
    pullRoute,
  ]),
]);
