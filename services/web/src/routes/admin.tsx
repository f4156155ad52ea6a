/** /admin: users, the audit log and the gateway, for the admin role (AdminLayout checks). */
import { createRoute, lazyRouteComponent, redirect } from "@tanstack/react-router";
import type { AuditFilters, UserFilters } from "@/api/admin";
import { AdminLayout } from "@/features/admin/AdminLayout";
import { auditFilters, userFilters } from "@/features/admin/filters";
import { appRoute } from "@/routes/app";

export const adminRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/admin",
  component: AdminLayout,
});

export const adminIndexRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/admin/users", replace: true });
  },
});

export const adminUsersRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: "/users",
  validateSearch: (search: Record<string, unknown>): UserFilters => userFilters(search),
  component: lazyRouteComponent(() => import("@/features/admin/UsersPage"), "UsersPage"),
});

export const adminAuditRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: "/audit",
  validateSearch: (search: Record<string, unknown>): AuditFilters => auditFilters(search),
  component: lazyRouteComponent(() => import("@/features/admin/AuditPage"), "AuditPage"),
});

export const adminGatewayRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: "/gateway",
  component: lazyRouteComponent(() => import("@/features/admin/GatewayPage"), "GatewayPage"),
});
