/** Answers of the services that every page needs in whole-app tests (session, account,
 * project): shapes as the API sends them. */
import type { UserOut } from "@/client/types.gen";

export const TOKENS = {
  access_token: "at",
  refresh_token: null,
  token_type: "bearer",
  expires_in: 900,
};
export const OWNER = "11111111-1111-1111-1111-111111111111";
export const VIEWER = "22222222-2222-2222-2222-222222222222";
export const PROJECT_ID = "33333333-3333-3333-3333-333333333333";

export function me(id: string) {
  return {
    id,
    email: `${id.slice(0, 4)}@example.com`,
    username: id === OWNER ? "ada" : "vic",
    full_name: "",
    roles: ["user"],
    is_active: true,
    email_verified: true,
    totp_enabled: false,
    github_linked: false,
    created_at: "2026-01-01T00:00:00Z",
    last_login_at: null,
  };
}

export const PROJECT = {
  id: PROJECT_ID,
  name: "Demo",
  description: "",
  repository_url: "https://github.com/e2e/demo",
  default_branch: "trunk",
  owner_id: OWNER,
  members: [{ user_id: VIEWER, role: "viewer", added_at: "2026-01-01T00:00:00Z" }],
  enabled: true,
  settings: {},
  webhook_path: `/api/v1/projects/${PROJECT_ID}/webhooks/github`,
  webhook_secret_rotated_at: null,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

/** The account `GET /api/v1/auth/me` answers, as ada with a name, with any field changed. */
export function meAs(overrides: Partial<UserOut> = {}): UserOut {
  return { ...me(OWNER), email: "ada@example.com", full_name: "Ada", ...overrides };
}
