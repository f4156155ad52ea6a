/** The admin lists' filters as they live in the URL (a reload or a shared link shows the same). */
import { type AuditFilters, ROLES, type Role, type UserFilters } from "@/api/admin";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The auth service's audit actions (swe_auth.audit.service.Action), for the filter. */
export const AUDIT_ACTIONS = [
  "login",
  "lockout",
  "logout",
  "refresh_reuse",
  "session_revoked",
  "password_change",
  "email_change",
  "password_reset_requested",
  "password_reset",
  "api_key_created",
  "api_key_revoked",
  "role_change",
  "user_registered",
  "user_locked",
  "user_unlocked",
  "user_disabled",
  "user_enabled",
  "mfa_enabled",
  "mfa_disabled",
  "github_linked",
] as const;

function page(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function userFilters(search: Record<string, unknown>): UserFilters {
  const q = typeof search.q === "string" ? search.q.trim().slice(0, 100) : "";
  const role = ROLES.includes(search.role as Role) ? (search.role as Role) : undefined;
  // The router parses `?active=false` to a boolean; a hand-typed link may say "false".
  const active =
    search.active === true || search.active === "true"
      ? true
      : search.active === false || search.active === "false"
        ? false
        : undefined;
  return clean({ q: q || undefined, role, active, page: page(search.page) });
}

export function auditFilters(search: Record<string, unknown>): AuditFilters {
  const userId =
    typeof search.user_id === "string" && UUID.test(search.user_id.trim())
      ? search.user_id.trim().toLowerCase()
      : undefined;
  const action =
    typeof search.action === "string" && /^[a-z_]{1,64}$/.test(search.action)
      ? search.action
      : undefined;
  const outcome =
    search.outcome === "success" || search.outcome === "failure" ? search.outcome : undefined;
  return clean({ user_id: userId, action, outcome, page: page(search.page) });
}

export function isUserId(value: string): boolean {
  return UUID.test(value.trim());
}
