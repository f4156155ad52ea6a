import { rootRoute } from "@/routes/__root";
import {
  accountApiKeysRoute,
  accountNotificationsRoute,
  accountProfileRoute,
  accountRoute,
  accountSecurityRoute,
  accountSessionsRoute,
} from "@/routes/account";
import {
  adminAuditRoute,
  adminGatewayRoute,
  adminIndexRoute,
  adminRoute,
  adminUsersRoute,
} from "@/routes/admin";
import { agentRoute, agentsRoute, runRoute } from "@/routes/agents";
import { agentAnalyticsRoute, analyticsRoute, projectAnalyticsRoute } from "@/routes/analytics";
import { appRoute, homeRoute } from "@/routes/app";
import { issueRoute } from "@/routes/issues";
import {
  projectAgentsRoute,
  projectIndexRoute,
  projectIssuesRoute,
  projectMembersRoute,
  projectPullsRoute,
  projectRoute,
  projectRunsRoute,
  projectSettingsRoute,
  projectsRoute,
} from "@/routes/projects";
import { registerRoute, resetPasswordRoute, signInRoute, verifyEmailRoute } from "@/routes/public";
import { pullRoute } from "@/routes/pulls";

export const routeTree = rootRoute.addChildren([
  signInRoute,
  registerRoute,
  resetPasswordRoute,
  verifyEmailRoute,
  appRoute.addChildren([
    homeRoute,
    projectsRoute,
    projectRoute.addChildren([
      projectIndexRoute,
      projectIssuesRoute,
      projectPullsRoute,
      projectAgentsRoute,
      projectRunsRoute,
      projectMembersRoute,
      projectSettingsRoute,
    ]),
    issueRoute,
    pullRoute,
    analyticsRoute,
    projectAnalyticsRoute,
    agentAnalyticsRoute,
    agentsRoute,
    agentRoute,
    runRoute,
    accountRoute.addChildren([
      accountProfileRoute,
      accountSecurityRoute,
      accountSessionsRoute,
      accountApiKeysRoute,
      accountNotificationsRoute,
    ]),
    adminRoute.addChildren([adminIndexRoute, adminUsersRoute, adminAuditRoute, adminGatewayRoute]),
  ]),
]);
