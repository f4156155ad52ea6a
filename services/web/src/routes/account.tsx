/**
 * /account and its tabs: the signed-in user's profile, security, sessions, API keys and the
 * notices they get by mail.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";
import { AccountLayout } from "@/features/account/AccountLayout";
import { appRoute } from "@/routes/app";

export const accountRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/account",
  component: AccountLayout,
});

export const accountProfileRoute = createRoute({
  getParentRoute: () => accountRoute,
  path: "/",
  component: lazyRouteComponent(() => import("@/features/account/ProfilePage"), "ProfilePage"),
});

export const accountSecurityRoute = createRoute({
  getParentRoute: () => accountRoute,
  path: "/security",
  component: lazyRouteComponent(() => import("@/features/account/SecurityPage"), "SecurityPage"),
});

export const accountSessionsRoute = createRoute({
  getParentRoute: () => accountRoute,
  path: "/sessions",
  component: lazyRouteComponent(() => import("@/features/account/SessionsPage"), "SessionsPage"),
});

export const accountApiKeysRoute = createRoute({
  getParentRoute: () => accountRoute,
  path: "/api-keys",
  component: lazyRouteComponent(() => import("@/features/account/ApiKeysPage"), "ApiKeysPage"),
});

export const accountNotificationsRoute = createRoute({
  getParentRoute: () => accountRoute,
  path: "/notifications",
  component: lazyRouteComponent(
    () => import("@/features/account/NotificationsPage"),
    "NotificationsPage",
  ),
});
