/** The signed-in part of the console: every route below needs a session (restored on load). */
import { createRoute, redirect } from "@tanstack/react-router";
import { AppLayout } from "@/components/AppLayout";
import { HomePage } from "@/features/home/HomePage";
import { restoreSession, sessionEndedByServer } from "@/lib/auth";
import { rootRoute } from "@/routes/__root";

export const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  beforeLoad: async ({ location }) => {
    if ((await restoreSession()) !== "signed-in") {
      // A navigation under way when the server ended the session says so too (the expired
      // handler's own navigation to sign in may have lost the race to this one).
      const ended = sessionEndedByServer() ? { reason: "ended" as const } : {};
      throw redirect({ to: "/sign-in", search: { redirect: location.href, ...ended } });
    }
  },
  component: AppLayout,
});

export const homeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  component: HomePage,
});
