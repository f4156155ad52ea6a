import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IssueOut } from "@/client/types.gen";
import { AGENT, issue, page, signedIn } from "@/features/issues/testing";
import { renderApp } from "@/test/app";
import { OWNER, PROJECT_ID, VIEWER } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const ISSUE_PATH = `/api/v1/issues/${issue().id}`;
const PAGE = `/projects/${PROJECT_ID}/issues/${issue().id}`;
const WRITE_BUTTONS = [
  "Start work",
  "Stop work",
  "Resolve…",
  "Close",
  "Reopen",
  "Edit",
  "Delete",
  "Assign",
  "Sync from GitHub",
];

function buttonNames(): string[] {
  return screen.queryAllByRole("button").map((b) => b.textContent ?? "");
}

describe("the issue page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_only_the_moves_allowed_from_in_progress_are_offered", async () => {
    const base = signedIn(OWNER);
    renderApp(PAGE, (m, p) => {
      if (p === ISSUE_PATH) return jsonResponse(issue({ status: "in_progress", github_number: 7 }));
      return base(m, p);
    });
    await screen.findByRole("heading", { name: "Login fails", level: 1 });
    const moves = screen.getByRole("group", { name: "Change the status" });
    expect(
      within(moves)
        .getAllByRole("button")
        .map((b) => b.textContent),
    ).toEqual(["Resolve…", "Ready for review", "Stop work", "Close"]);
    expect(buttonNames()).not.toContain("Start work");
    expect(buttonNames()).not.toContain("Reopen");
    for (const name of ["Edit", "Delete", "Sync from GitHub", "Assign"]) {
      expect(screen.getByRole("button", { name })).toBeInTheDocument();
    }
    // The description is Markdown.
    expect(screen.getByText("sign in").tagName).toBe("STRONG");
  });

  it("test_a_409_lists_the_allowed_moves_and_the_page_shows_the_issue_as_it_is_now", async () => {
    const base = signedIn(OWNER);
    let current: IssueOut = issue({ status: "in_progress" });
    renderApp(PAGE, (m, p) => {
      if (p === ISSUE_PATH && m === "GET") return jsonResponse(current);
      if (p === ISSUE_PATH && m === "PATCH") {
        // Someone resolved it meanwhile.
        current = issue({ status: "resolved", resolution: "Fixed elsewhere" });
        return problemResponse(409, {
          detail: "An issue that is resolved cannot become closed; allowed from resolved: open",
          current_status: "resolved",
          allowed_transitions: ["open"],
          request_id: "rid-409",
        });
      }
      return base(m, p);
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Close" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Allowed next states:");
    expect(alert).toHaveTextContent("open");
    expect(alert).toHaveTextContent("rid-409");
    await waitFor(() =>
      expect(
        within(screen.getByRole("group", { name: "Change the status" }))
          .getAllByRole("button")
          .map((b) => b.textContent),
      ).toEqual(["Reopen"]),
    );
    expect(screen.getByText("Fixed elsewhere")).toBeInTheDocument();
  });

  it("test_a_viewer_sees_the_issue_and_no_write_controls", async () => {
    const base = signedIn(VIEWER);
    renderApp(PAGE, (m, p) => {
      if (p === ISSUE_PATH) return jsonResponse(issue({ github_number: 7 }));
      return base(m, p);
    });
    await screen.findByRole("heading", { name: "Login fails", level: 1 });
    expect(screen.getByText("sign in").tagName).toBe("STRONG");
    for (const name of WRITE_BUTTONS) expect(buttonNames()).not.toContain(name);
    expect(screen.queryByRole("group", { name: "Change the status" })).toBeNull();
    expect(screen.queryByRole("combobox", { name: "Agent" })).toBeNull();
  });

  it("test_resolving_sends_the_resolution_and_the_chosen_pull_request", async () => {
    const base = signedIn(OWNER);
    const pr = {
      id: "66666666-6666-4666-8666-666666666666",
      project_id: PROJECT_ID,
      number: 12,
      title: "Fix login",
      author: "ada",
      state: "open",
      base_ref: "main",
      head_ref: "fix",
      base_sha: null,
      head_sha: null,
      review_status: "none",
      url: null,
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
    };
    let current: IssueOut = issue({ status: "in_progress", assigned_agent_id: AGENT.id });
    const { calls } = renderApp(PAGE, (m, p, body) => {
      if (p === ISSUE_PATH) return jsonResponse(current);
      if (p === "/api/v1/prs") return jsonResponse(page([pr]));
      if (p === `/api/v1/prs/${pr.id}`) return jsonResponse(pr);
      if (p === `${ISSUE_PATH}/resolve`) {
        const sent = body as { resolution: string; pull_request_id: string };
        current = { ...current, status: "resolved", ...sent };
        return jsonResponse(current);
      }
      return base(m, p);
    });
    const user = userEvent.setup();
    // The assigned agent is named, not shown as an id.
    expect(await screen.findByText("Fixer")).toBeInTheDocument();
    await user.click(await screen.findByRole("button", { name: "Resolve…" }));
    const dialog = await screen.findByRole("dialog");
    await user.click(within(dialog).getByRole("button", { name: "Resolve" }));
    expect(await within(dialog).findByText("Say how the issue was resolved")).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText(/^Resolution/), "Session cookie fixed");
    const select = within(dialog).getByLabelText("Pull request (optional)");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(2));
    await user.selectOptions(select, pr.id);
    await user.click(within(dialog).getByRole("button", { name: "Resolve" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.find((c) => c.path === `${ISSUE_PATH}/resolve`)?.body).toEqual({
      resolution: "Session cookie fixed",
      pull_request_id: pr.id,
    });
    // The resolution names the pull request and links to its page.
    expect(await screen.findByRole("link", { name: "#12 Fix login" })).toHaveAttribute(
      "href",
      `/projects/${PROJECT_ID}/pulls/${pr.id}`,
    );
  });

  it("test_an_issue_in_review_links_the_agents_draft_pull_request", async () => {
    const base = signedIn(OWNER);
    const pr = {
      id: "77777777-7777-4777-8777-777777777777",
      project_id: PROJECT_ID,
      number: 1001,
      title: "Resolve: Login fails",
      author: "swe-platform[bot]",
      state: "open",
      base_ref: "main",
      head_ref: "agent/issue-1-2",
      base_sha: null,
      head_sha: null,
      review_status: "none",
      url: "https://github.com/acme/widgets/pull/1001",
      draft: true,
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
    };
    renderApp(PAGE, (m, p) => {
      if (p === ISSUE_PATH) {
        return jsonResponse(issue({ status: "in_review", pull_request_id: pr.id }));
      }
      if (p === `/api/v1/prs/${pr.id}`) return jsonResponse(pr);
      return base(m, p);
    });
    expect(await screen.findByRole("link", { name: "#1001 Resolve: Login fails" })).toHaveAttribute(
      "href",
      `/projects/${PROJECT_ID}/pulls/${pr.id}`,
    );
    expect(screen.getAllByTestId("issue-status")[0]).toHaveTextContent("in review");
    const moves = screen.getByRole("group", { name: "Change the status" });
    expect(
      within(moves)
        .getAllByRole("button")
        .map((b) => b.textContent),
    ).toEqual(["Back to work", "Resolve…", "Stop work", "Close"]);
  });
});
