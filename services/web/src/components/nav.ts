/**
 * The main navigation. Part 2 of the console adds Agents, Analytics and Admin: their slots are
 * here (enabled: false) so that adding a page is flipping the flag and adding its route.
 */
export interface NavItem {
  label: string;
  /** A route path; part 2 adds "/agents", "/analytics" and "/admin" to the route tree. */
  to: string;
  enabled: boolean;
  /** Only for accounts with this role (admin pages). */
  role?: string;
}

export const NAV_ITEMS: NavItem[] = [
  { label: "Home", to: "/", enabled: true },
  { label: "Projects", to: "/projects", enabled: true },
  { label: "Agents", to: "/agents", enabled: true },
  { label: "Analytics", to: "/analytics", enabled: true },
  { label: "Administration", to: "/admin", enabled: true, role: "admin" },
];
