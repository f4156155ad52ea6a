/**
 * API-key scopes as swe_common.security defines them: `<family>:<level>`, where a level also
 * grants the ones below it (write reads, admin writes). The form picks one level per family.
 */
export const SCOPE_FAMILIES = ["projects", "issues", "agents", "analytics", "gateway"] as const;
export type ScopeFamily = (typeof SCOPE_FAMILIES)[number];
export const SCOPE_LEVELS = ["read", "write", "admin"] as const;
export type ScopeLevel = (typeof SCOPE_LEVELS)[number];
export type ScopeChoice = ScopeLevel | "none";
export type ScopeSelection = Record<ScopeFamily, ScopeChoice>;

/** What each family opens, for the form. */
export const FAMILY_LABELS: Record<ScopeFamily, string> = {
  projects: "Projects (repositories, members, settings)",
  issues: "Issues",
  agents: "Agents (runs, streams)",
  analytics: "Analytics",
  gateway: "Gateway administration",
};

/** Families whose only use is an administrator's (the gateway's admin API). */
export const ADMIN_ONLY_FAMILIES: readonly ScopeFamily[] = ["gateway"];

export function noScopes(): ScopeSelection {
  return { projects: "none", issues: "none", agents: "none", analytics: "none", gateway: "none" };
}

/** The scopes to send: one per chosen family (its level implies the ones below). */
export function scopesFrom(selection: ScopeSelection): string[] {
  return SCOPE_FAMILIES.filter((family) => selection[family] !== "none").map(
    (family) => `${family}:${selection[family]}`,
  );
}

export type ExpiryChoice = "30" | "90" | "365" | "never" | "date";

export const EXPIRY_OPTIONS: { value: ExpiryChoice; label: string }[] = [
  { value: "30", label: "In 30 days" },
  { value: "90", label: "In 90 days" },
  { value: "365", label: "In a year" },
  { value: "date", label: "On a date…" },
  { value: "never", label: "Never (not recommended)" },
];

/**
 * The `expires_at` to send (ISO 8601 with a time zone, as the API wants), or null for a key
 * that never expires. A date means the end of that day in the user's time zone; undefined
 * when the date is missing or not in the future.
 */
export function expiryFrom(
  choice: ExpiryChoice,
  date: string,
  now: Date = new Date(),
): string | null | undefined {
  if (choice === "never") return null;
  if (choice === "date") {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!match) return undefined;
    const end = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 23, 59, 59);
    if (Number.isNaN(end.getTime()) || end <= now) return undefined;
    return end.toISOString();
  }
  const days = Number(choice);
  return new Date(now.getTime() + days * 86_400_000).toISOString();
}
