import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { jsonResponse, problemResponse } from "@/test/render";
import {
  PULL as BASE_PULL,
  me,
  OWNER,
  PR_ID,
  PROJECT,
  PROJECT_ID,
  TOKENS,
  VIEWER,
} from "./testData";

const RUN_ID = "55555555-5555-5555-5555-555555555555";
// The title is user content: markup in it must show as text.
const PULL = { ...BASE_PULL, title: "Add spawn() <script>alert(1)</script>" };

const REVIEW = {
  id: "66666666-6666-6666-6666-666666666666",
  pull_request_id: PR_ID,
  level: "thorough",
  status: "completed",
  requested_by: OWNER,
  head_sha: "a".repeat(40),
  run_id: RUN_ID,
  approval: "request_changes",
  summary: "2 changed files reviewed, 2 comments; request changes",
  quality_score: 81.5,
  comments: [
    {
      path: "app/clean.py",
      line: 12,
      severity: "high",
      category: "security",
      rule: "B602",
      message: "`subprocess` call with **shell=True**",
      new: true,
    },
    { path: "app/clean.py", line: 90, severity: "low", rule: "E501", message: "Line too long" },
  ],
  findings_by_severity: null,
  error: null,
  requested_at: "2026-01-01T00:00:00Z",
  completed_at: "2026-01-01T00:01:00Z",
};

const DIFF = {
  run_id: RUN_ID,
  base_sha: "b".repeat(40),
  head_sha: "a".repeat(40),
  truncated: false,
  files_total: 1,
  limits: {
    max_files: 300,
    max_lines_per_file: 2000,
    max_total_lines: 20000,
    max_line_chars: 1000,
    max_bytes: 2097152,
    max_raw_bytes: 16777216,
    context: 3,
  },
  files: [
    {
      path: "app/clean.py",
      old_path: null,
      status: "modified",
      binary: false,
      additions: 2,
      deletions: 0,
      truncated: false,
      omitted: null,
      hunks: [
        {
          old_start: 10,
          old_lines: 1,
          new_start: 10,
          new_lines: 3,
          section: "def spawn(cmd):",
          lines: [
            { kind: "context", old: 10, new: 10, text: "    try:" },
            { kind: "add", old: null, new: 11, text: "        import subprocess" },
            { kind: "add", old: null, new: 12, text: "        subprocess.Popen(cmd, shell=True)" },
          ],
        },
      ],
    },
  ],
};

function serve(userId: string) {
  return renderApp(`/projects/${PROJECT_ID}/pulls/${PR_ID}`, (method, path) => {
    if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (path === "/api/v1/auth/me") return jsonResponse(me(userId));
    if (path === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
    if (path === `/api/v1/prs/${PR_ID}` && method === "GET") return jsonResponse(PULL);
    if (path === `/api/v1/prs/${PR_ID}/review` && method === "GET") {
      return jsonResponse({ latest: REVIEW, latest_result: REVIEW, history: [REVIEW] });
    }
    if (path === `/api/v1/agents/runs/${RUN_ID}/diff`) return jsonResponse(DIFF);
    if (path === `/api/v1/prs/${PR_ID}/comments`) {
      return jsonResponse({ items: [], total: 0, limit: 50, offset: 0 });
    }
    return undefined;
  });
}

describe("the pull request page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_comment_is_shown_under_its_changed_line_and_the_filter_hides_it", async () => {
    serve(OWNER);
    const file = await screen.findByTestId("diff-file");
    const row = await waitFor(() => {
      const found = file.querySelector('tr[data-line-new="12"]');
      if (!found) throw new Error("line 12 not rendered yet");
      return found;
    });
    const below = row.nextElementSibling as HTMLElement;
    expect(below).toHaveAttribute("data-comments-for", "12");
    expect(within(below).getByText("B602")).toBeInTheDocument();
    // The message is Markdown: emphasis becomes an element, never raw HTML.
    expect(within(below).getByText("shell=True").tagName).toBe("STRONG");
    expect(within(file).getByTestId("comments-outside")).toHaveTextContent("Line 90");
    // The title is plain text: its markup is shown, not run.
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent(
      "<script>alert(1)</script>",
    );
    expect(screen.getByTestId("review-verdict")).toHaveTextContent("Changes requested");
    expect(screen.getByRole("button", { name: "Request review" })).toBeInTheDocument();

    const user = userEvent.setup();
    await user.click(screen.getByRole("checkbox", { name: "high (1)" }));
    expect(file.querySelector('tr[data-comments-for="12"]')).toBeNull();
    expect(within(file).getByTestId("comments-outside")).toHaveTextContent("Line too long");
  });

  it("test_a_viewer_sees_the_review_but_no_write_controls", async () => {
    serve(VIEWER);
    await screen.findByTestId("diff-file");
    for (const name of ["Request review", "Sync from GitHub", "Edit", "Untrack"]) {
      expect(screen.queryByRole("button", { name })).toBeNull();
    }
    expect(screen.queryByLabelText("Review level")).toBeNull();
  });

  it("test_a_pull_request_of_another_project_is_not_found", async () => {
    renderApp(`/projects/${PROJECT_ID}/pulls/${PR_ID}`, (_method, path) => {
      if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (path === "/api/v1/auth/me") return jsonResponse(me(OWNER));
      if (path === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
      if (path === `/api/v1/prs/${PR_ID}`) {
        return problemResponse(404, { detail: "no such pull request", request_id: "rid-9" });
      }
      return undefined;
    });
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeInTheDocument();
    expect(screen.getByText(/rid-9/)).toBeInTheDocument();
  });
});
