import { describe, expect, it } from "vitest";
import { expiryFrom, noScopes, scopesFrom } from "@/lib/scopes";

describe("API key scopes and expiry", () => {
  it("test_one_scope_per_chosen_family_in_a_stable_order", () => {
    expect(scopesFrom(noScopes())).toEqual([]);
    expect(scopesFrom({ ...noScopes(), analytics: "read", projects: "admin" })).toEqual([
      "projects:admin",
      "analytics:read",
    ]);
  });

  it("test_expiry_is_an_iso_instant_null_for_never_and_undefined_for_a_past_date", () => {
    const now = new Date("2026-03-01T12:00:00Z");
    expect(expiryFrom("30", "", now)).toBe("2026-03-31T12:00:00.000Z");
    expect(expiryFrom("never", "", now)).toBeNull();
    expect(expiryFrom("date", "2026-02-01", now)).toBeUndefined();
    expect(expiryFrom("date", "not a date", now)).toBeUndefined();
    const end = new Date(expiryFrom("date", "2026-04-10", now) ?? "");
    // The end of that day where the user is.
    expect([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours()]).toEqual([
      2026, 3, 10, 23,
    ]);
  });
});
