/**
 * A tracked pull request's own page. Not under the project's layout (its tabs): the page's
 * heading is the pull request; the breadcrumbs lead back to the project's Pull requests tab.
 */
import { createRoute } from "@tanstack/react-router";
import { PullPage } from "@/features/pulls/PullPage";
import { appRoute } from "@/routes/app";

export const pullRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/projects/$projectId/pulls/$pullId",
  component: PullPage,
});
