/** Answers of the API for the issue pages' whole-app tests (src/test/app.tsx). */
import type { AgentOut, IssueOut, ProjectRead, UserOut } from "@/client/types.gen";
import { jsonResponse } from "@/test/render";

export const OWNER: UserOut = {
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
};
export const VIEWER: UserOut = {
  ...OWNER,
  id: "22222222-2222-4222-8222-222222222222",
  username: "vic",
};

export const PROJECT: ProjectRead = {
  id: "33333333-3333-4333-8333-333333333333",
  name: "Demo",
  description: "",
  repository_url: "https://github.com/acme/demo",
  default_branch: "main",
  enabled: true,
  owner_id: OWNER.id,
  members: [{ user_id: VIEWER.id, role: "viewer" }],
  settings: { auto_review: false, review_level: "standard" },
  webhook_path: "/api/v1/webhooks/github/x",
  webhook_secret_rotated_at: "2026-01-01T00:00:00Z",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

export const AGENT: AgentOut = {
  id: "44444444-4444-4444-8444-444444444444",
  project_id: PROJECT.id,
  name: "Fixer",
  type: "issue_resolver",
  description: "",
  status: "active",
  config: {},
  created_by: OWNER.id,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

export function issue(overrides: Partial<IssueOut> = {}): IssueOut {
  return {
    id: "55555555-5555-4555-8555-555555555555",
    project_id: PROJECT.id,
    title: "Login fails",
    description: "Steps: **sign in**",
    status: "open",
    priority: "high",
    labels: ["bug"],
    assigned_agent_id: null,
    created_by: OWNER.id,
    resolution: null,
    pull_request_id: null,
    github_number: null,
    github_url: null,
    created_at: "2026-01-02T00:00:00Z",
    updated_at: "2026-01-02T00:00:00Z",
    resolved_at: null,
    closed_at: null,
    ...overrides,
  };
}

export const TOKENS = {
  access_token: "at",
  refresh_token: null,
  token_type: "bearer",
  expires_in: 900,
};
export const STATS = {
  project_id: PROJECT.id,
  total: 12,
  by_status: { open: 7, in_progress: 3, resolved: 2, closed: 0 },
  by_priority: { low: 1, medium: 5, high: 4, critical: 2 },
  resolved_count: 2,
  mean_time_to_resolve_seconds: 3 * 3600 + 20 * 60,
};

export function page<T>(items: T[], total = items.length) {
  return { items, total, limit: 50, offset: 0 };
}

/** The calls every signed-in page makes: session, account, project, its agents. */
export function signedIn(me: UserOut) {
  return (method: string, path: string): Response | undefined => {
    if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (path === "/api/v1/auth/me") return jsonResponse(me);
    if (path === `/api/v1/projects/${PROJECT.id}` && method === "GET") return jsonResponse(PROJECT);
    if (path === "/api/v1/agents") return jsonResponse(page([AGENT]));
    if (path === "/api/v1/issues/stats") return jsonResponse(STATS);
    return undefined;
  };
}
