/**
 * A tracked pull request's own page. Not under the project's layout (its tabs): the page's
 * heading is the pull request; the breadcrumbs lead back to the project's Pull requests tab.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { appRoute } from "@/routes/app";

export const pullRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/projects/$projectId/pulls/$pullId",
  // Its own chunk, like an issue's page: the Markdown parser and the diff view stay out of the
  // first load; they are fetched when a link to a pull request is hovered or followed.
  component: lazyRouteComponent(() => import("@/features/pulls/PullPage"), "PullPage"),
});
