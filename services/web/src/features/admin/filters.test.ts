import { describe, expect, it } from "vitest";
import { auditFilters, userFilters } from "@/features/admin/filters";

describe("admin filters from the URL", () => {
  it("test_user_filters_keep_only_known_values", () => {
    expect(userFilters({ q: "  ada ", role: "admin", active: "false", page: "3" })).toEqual({
      q: "ada",
      role: "admin",
      active: false,
      page: 3,
    });
    expect(userFilters({ q: "", role: "root", active: "maybe", page: "1" })).toEqual({});
    expect(userFilters({ active: true, page: 2.5 })).toEqual({ active: true });
  });

  it("test_audit_filters_refuse_a_malformed_user_id_and_outcome", () => {
    const id = "3F2B6C1A-1111-4222-8333-444455556666";
    expect(auditFilters({ user_id: id, action: "user_locked", outcome: "failure" })).toEqual({
      user_id: id.toLowerCase(),
      action: "user_locked",
      outcome: "failure",
    });
    expect(auditFilters({ user_id: "nope", action: "DROP TABLE", outcome: "meh" })).toEqual({});
  });
});
