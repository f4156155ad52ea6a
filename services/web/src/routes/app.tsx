/** The signed-in part of the console: every route below needs a session (restored on load). */
import { createRoute, redirect } from "@tanstack/react-router";
import { AppLayout } from "@/components/AppLayout";
import { HomePage } from "@/features/home/HomePage";
import { restoreSession } from "@/lib/auth";
import { rootRoute } from "@/routes/__root";

export const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  beforeLoad: async ({ location }) => {
    if ((await restoreSession()) !== "signed-in") {
      throw redirect({ to: "/sign-in", search: { redirect: location.href } });
    }
  },
  component: AppLayout,
});

export const homeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  component: HomePage,
});
