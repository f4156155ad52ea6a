/**
 * The main navigation. Part 2 of the console adds Agents, Analytics and Admin: their slots are
 * here (enabled: false) so that adding a page is flipping the flag and adding its route.
 */
import type { Permission } from "@/lib/permissions";

export interface NavItem {
  label: string;
  /** A route path; part 2 adds "/agents", "/analytics" and "/admin" to the route tree. */
  to: string;
  enabled: boolean;
  /** Only for accounts whose role grants this (`@/lib/permissions`). */
  permission?: Permission;
}

export const NAV_ITEMS: NavItem[] = [
  { label: "Home", to: "/", enabled: true },
  { label: "Projects", to: "/projects", enabled: true },
  { label: "Agents", to: "/agents", enabled: true },
  { label: "Analytics", to: "/analytics", enabled: true, permission: "analytics.read" },
  { label: "Administration", to: "/admin", enabled: true, permission: "users.admin" },
];
