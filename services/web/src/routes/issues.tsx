/**
 * An issue's own page. Not under the project's layout (its tabs), like a pull request's: the
 * page's heading is the issue; the breadcrumbs lead back to the project's Issues tab.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { appRoute } from "@/routes/app";

export const issueRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/projects/$projectId/issues/$issueId",
  // Its own chunk: the Markdown parser it needs (about 40 KiB gzip) stays out of the first
  // load; it is fetched when a link to an issue is hovered or followed.
  component: lazyRouteComponent(() => import("@/features/issues/IssuePage"), "IssuePage"),
});
