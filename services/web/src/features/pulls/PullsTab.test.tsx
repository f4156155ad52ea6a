import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { jsonResponse, problemResponse } from "@/test/render";

const TOKENS = { access_token: "at", refresh_token: null, token_type: "bearer", expires_in: 900 };
const OWNER = "11111111-1111-1111-1111-111111111111";
const PROJECT_ID = "33333333-3333-3333-3333-333333333333";
const ME = {
  id: OWNER,
  email: "ada@example.com",
  username: "ada",
  full_name: "",
  roles: ["user"],
  is_active: true,
  totp_enabled: false,
  github_linked: false,
  created_at: "2026-01-01T00:00:00Z",
  last_login_at: null,
};
const PROJECT = {
  id: PROJECT_ID,
  name: "Demo",
  description: "",
  repository_url: "https://github.com/e2e/demo",
  default_branch: "trunk",
  owner_id: OWNER,
  members: [],
  enabled: true,
  settings: {},
  webhook_path: `/api/v1/projects/${PROJECT_ID}/webhooks/github`,
  webhook_secret_rotated_at: null,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};
const PULL = {
  id: "44444444-4444-4444-4444-444444444444",
  project_id: PROJECT_ID,
  number: 7,
  title: "Add spawn()",
  author: "carol",
  state: "open",
  base_ref: "trunk",
  head_ref: "feature/spawn",
  base_sha: null,
  head_sha: null,
  review_status: "pending",
  url: null,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

function serve(path: string, track?: (body: unknown) => Response) {
  return renderApp(path, (method, url, body) => {
    if (url === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (url === "/api/v1/auth/me") return jsonResponse(ME);
    if (url === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
    if (url === "/api/v1/prs" && method === "GET") {
      return jsonResponse({ items: [PULL], total: 1, limit: 20, offset: 0 });
    }
    if (url === "/api/v1/prs" && method === "POST" && track) return track(body);
    return undefined;
  });
}

describe("the Pull requests tab", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_filters_live_in_the_url_and_reach_the_list_query", async () => {
    const { router, calls } = serve(`/projects/${PROJECT_ID}/pulls?state=open&page=2`);
    expect(await screen.findByRole("link", { name: "Add spawn()" })).toBeInTheDocument();
    const first = calls.find((c) => c.path.startsWith("/api/v1/prs?"));
    expect(first?.path).toContain("state=open");
    expect(first?.path).toContain("offset=20");
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Review status"), "pending");
    await waitFor(() =>
      expect(router.state.location.search).toEqual({ state: "open", review: "pending" }),
    );
    await waitFor(() =>
      expect(calls.some((c) => c.path.includes("review_status=pending"))).toBe(true),
    );
  });

  it("test_the_servers_field_errors_are_shown_next_to_the_track_forms_fields", async () => {
    const sent: unknown[] = [];
    serve(`/projects/${PROJECT_ID}/pulls`, (body) => {
      sent.push(body);
      return problemResponse(422, {
        detail: "The request is not valid",
        request_id: "rid-3",
        errors: [{ field: "body.head_sha", message: "String should match pattern" }],
      });
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Track a pull request" }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByLabelText("Base branch")).toHaveValue("trunk");
    await user.type(within(dialog).getByLabelText(/^Number/), "8");
    await user.type(within(dialog).getByLabelText(/^Title/), "Fix it");
    await user.type(within(dialog).getByLabelText("Head commit"), "abcdef1");
    await user.click(within(dialog).getByRole("button", { name: "Track pull request" }));
    expect(await within(dialog).findByText("String should match pattern")).toBeInTheDocument();
    expect(within(dialog).getByLabelText("Head commit")).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).getByRole("alert")).toHaveTextContent("rid-3");
    expect(sent).toEqual([
      {
        project_id: PROJECT_ID,
        number: 8,
        title: "Fix it",
        author: "",
        base_ref: "trunk",
        head_ref: "",
        base_sha: null,
        head_sha: "abcdef1",
      },
    ]);
  });
});
