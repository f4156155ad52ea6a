/** Answers of the API for the issue pages' whole-app tests (src/test/app.tsx). */
import type { AgentOut, IssueOut } from "@/client/types.gen";
import { me, OWNER, PROJECT, PROJECT_ID, TOKENS } from "@/test/data";
import { jsonResponse } from "@/test/render";

export const AGENT: AgentOut = {
  id: "44444444-4444-4444-8444-444444444444",
  project_id: PROJECT_ID,
  name: "Fixer",
  type: "issue_resolver",
  description: "",
  status: "active",
  config: {},
  created_by: OWNER,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

export function issue(overrides: Partial<IssueOut> = {}): IssueOut {
  return {
    id: "55555555-5555-4555-8555-555555555555",
    project_id: PROJECT_ID,
    title: "Login fails",
    description: "Steps: **sign in**",
    status: "open",
    priority: "high",
    labels: ["bug"],
    assigned_agent_id: null,
    assignee_id: null,
    created_by: OWNER,
    resolution: null,
    pull_request_id: null,
    github_number: null,
    github_url: null,
    github_author: null,
    github_assignees: [],
    github_state_reason: null,
    github_removed: null,
    github_updated_at: null,
    created_at: "2026-01-02T00:00:00Z",
    updated_at: "2026-01-02T00:00:00Z",
    resolved_at: null,
    closed_at: null,
    ...overrides,
  };
}

export const STATS = {
  project_id: PROJECT_ID,
  total: 12,
  by_status: { open: 7, in_progress: 3, in_review: 1, resolved: 2, closed: 0 },
  by_priority: { low: 1, medium: 5, high: 4, critical: 2 },
  resolved_count: 2,
  mean_time_to_resolve_seconds: 3 * 3600 + 20 * 60,
};

export function page<T>(items: T[], total = items.length) {
  return { items, total, limit: 50, offset: 0 };
}

/** The calls every signed-in issue page makes: session, account, project, agents, counts. */
export function signedIn(userId: string) {
  return (method: string, path: string): Response | undefined => {
    if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (path === "/api/v1/auth/me") return jsonResponse(me(userId));
    if (path === `/api/v1/projects/${PROJECT_ID}` && method === "GET") return jsonResponse(PROJECT);
    if (path === "/api/v1/agents") return jsonResponse(page([AGENT]));
    if (path === "/api/v1/issues/stats") return jsonResponse(STATS);
    // An issue's or a pull request's comments: none, unless a test serves some.
    if (/^\/api\/v1\/(issues|prs)\/[^/]+\/comments$/.test(path) && method === "GET") {
      return jsonResponse(page([]));
    }
    return undefined;
  };
}
