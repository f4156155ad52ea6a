/** Accounts as GET /api/v1/auth/me answers them, for whole-app tests. */
import type { UserOut } from "@/client/types.gen";

export const TOKENS = {
  access_token: "at",
  refresh_token: null,
  token_type: "bearer",
  expires_in: 900,
};

export function meAs(overrides: Partial<UserOut> = {}): UserOut {
  return {
    id: "11111111-1111-4111-8111-111111111111",
    email: "ada@example.com",
    username: "ada",
    full_name: "Ada",
    roles: ["user"],
    is_active: true,
    totp_enabled: false,
    github_linked: false,
    created_at: "2026-01-01T00:00:00Z",
    last_login_at: null,
    ...overrides,
  };
}
