import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CommentOut } from "@/client/types.gen";
import { comment, commentsServer } from "@/features/comments/testing";
import { issue, signedIn } from "@/features/issues/testing";
import { PR_ID, PULL } from "@/features/pulls/testData";
import { formatDate } from "@/lib/format";
import { renderApp } from "@/test/app";
import { me, OWNER, PROJECT, PROJECT_ID, TOKENS, VIEWER } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const ISSUE_ID = issue().id;
const THREAD = `/api/v1/issues/${ISSUE_ID}/comments`;
const PAGE = `/projects/${PROJECT_ID}/issues/${ISSUE_ID}`;
const CAROL = "66666666-6666-4666-8666-666666666666";

const FROM_CAROL = comment({
  id: "c0000000-0000-4000-8000-000000000001",
  issue_id: ISSUE_ID,
  author_id: CAROL,
  author_name: "carol",
  // Markup in a comment is text: shown as typed, never an element.
  body: 'First line\nSecond line <img src="x" onerror="alert(1)">',
  created_at: "2026-01-03T10:00:00Z",
  updated_at: "2026-01-03T10:00:00Z",
});
const FROM_ADA = comment({
  id: "c0000000-0000-4000-8000-000000000002",
  issue_id: ISSUE_ID,
  author_id: OWNER,
  author_name: "ada",
  body: "Looks fine",
  created_at: "2026-01-03T11:00:00Z",
  updated_at: "2026-01-03T12:30:00Z",
  edited: true,
});

/** The issue page as `userId` (a user-role account unless `account` says otherwise), its
 * thread served by `server`. */
function openIssue(
  userId: string,
  thread: CommentOut[],
  options: {
    account?: Record<string, unknown>;
    project?: Record<string, unknown>;
    issue?: Record<string, unknown>;
    post?: (body: unknown) => Response | Promise<Response>;
  } = {},
) {
  const base = signedIn(userId);
  const server = commentsServer(THREAD, thread, {
    id: userId,
    name: me(userId).username,
  });
  const view = renderApp(PAGE, (method, path, body, url) => {
    if (path === "/api/v1/auth/me") return jsonResponse({ ...me(userId), ...options.account });
    if (path === `/api/v1/projects/${PROJECT_ID}` && options.project) {
      return jsonResponse({ ...PROJECT, ...options.project });
    }
    if (path === `/api/v1/issues/${ISSUE_ID}`) return jsonResponse(issue(options.issue));
    if (path === THREAD && method === "POST" && options.post) return options.post(body);
    return server.respond(method, path, body, url) ?? base(method, path);
  });
  return { ...view, server };
}

async function thread() {
  const section = await screen.findByRole("region", { name: "Comments" });
  await within(section).findAllByRole("article");
  return section;
}

function articles(): HTMLElement[] {
  return within(screen.getByRole("region", { name: "Comments" })).queryAllByRole("article");
}

/** The `index`th comment shown (0 is the oldest). */
function article(index: number): HTMLElement {
  const found = articles()[index];
  if (!found) throw new Error(`no comment ${index} on the page`);
  return found;
}

describe("the comments on an issue", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_the_thread_reads_in_order_with_author_time_edited_marker_and_plain_text", async () => {
    openIssue(VIEWER, [FROM_CAROL, FROM_ADA]);
    const section = await thread();
    expect(within(section).getByRole("heading", { level: 2, name: "Comments" })).toBeTruthy();
    expect(section).toHaveTextContent("2 comments");
    const [first, second] = [article(0), article(1)];
    expect(first).toHaveAccessibleName(/^carol/);
    expect(second).toHaveAccessibleName(/^ada/);
    // The body keeps its line breaks and its markup stays text.
    const body = within(first).getByTestId("comment-body");
    expect(body.textContent).toBe(FROM_CAROL.body);
    expect(body).toHaveStyle({ whiteSpace: "pre-wrap" });
    expect(section.querySelector("img")).toBeNull();
    // How long ago, the exact time on hover.
    const time = first.querySelector("time");
    expect(time).toHaveAttribute("dateTime", FROM_CAROL.created_at);
    expect(time).toHaveAttribute("title", formatDate(FROM_CAROL.created_at));
    expect(time?.textContent).toMatch(/ago$/);
    expect(within(first).queryByTestId("comment-edited")).toBeNull();
    expect(within(second).getByTestId("comment-edited")).toHaveAttribute(
      "title",
      `Edited ${formatDate(FROM_ADA.updated_at)}`,
    );
    // A viewer reads the thread, without the form or any control, and is told why.
    expect(within(section).queryByRole("textbox")).toBeNull();
    expect(within(section).queryAllByRole("button")).toHaveLength(0);
    expect(within(section).getByTestId("comment-reason")).toHaveTextContent(
      "Only the project's owners and maintainers can comment.",
    );
  });

  it("test_an_empty_thread_says_so_and_offers_the_form", async () => {
    openIssue(OWNER, []);
    const section = await screen.findByRole("region", { name: "Comments" });
    expect(await within(section).findByText("No comments yet.")).toBeInTheDocument();
    expect(within(section).getByRole("textbox", { name: "Add a comment" })).toBeInTheDocument();
  });

  it("test_a_posted_comment_appears_at_the_end_without_a_reload_and_the_field_is_ready_again", async () => {
    const { calls } = openIssue(OWNER, [FROM_CAROL]);
    await thread();
    const user = userEvent.setup();
    const field = screen.getByRole("textbox", { name: "Add a comment" });
    await user.type(field, "Needs a test{Enter}for the fix");
    await user.click(screen.getByRole("button", { name: "Comment" }));
    await waitFor(() => expect(articles()).toHaveLength(2));
    const posted = article(1);
    expect(posted).toHaveAccessibleName(/^ada \(you\)/);
    expect(within(posted).getByTestId("comment-body").textContent).toBe(
      "Needs a test\nfor the fix",
    );
    expect(field).toHaveValue("");
    expect(field).toHaveFocus();
    expect(screen.getByRole("status")).toHaveTextContent("Your comment was posted.");
    const sent = calls.filter((c) => c.method === "POST" && c.path === THREAD);
    expect(sent.map((c) => c.body)).toEqual([{ body: "Needs a test\nfor the fix" }]);
    // One GET of the thread: the new comment came from the POST's answer.
    expect(calls.filter((c) => c.method === "GET" && c.path.startsWith(THREAD))).toHaveLength(1);
    expect(screen.getByRole("region", { name: "Comments" })).toHaveTextContent("2 comments");
  });

  it("test_ctrl_enter_sends_once_and_the_button_is_disabled_while_sending", async () => {
    let release: () => void = () => undefined;
    const answered = comment({
      id: "c0000000-0000-4000-9000-000000000099",
      issue_id: ISSUE_ID,
      author_id: OWNER,
      author_name: "ada",
      body: "Quick one",
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
    const { calls } = openIssue(OWNER, [FROM_CAROL], {
      post: () =>
        new Promise<Response>((resolve) => {
          release = () => resolve(jsonResponse(answered, 201));
        }),
    });
    await thread();
    const user = userEvent.setup();
    const field = screen.getByRole("textbox", { name: "Add a comment" });
    await user.type(field, "Quick one");
    await user.keyboard("{Control>}{Enter}{/Control}");
    const button = screen.getByRole("button", { name: "Comment" });
    await waitFor(() => expect(button).toBeDisabled());
    // A second Ctrl+Enter while the first is on its way sends nothing more.
    await user.keyboard("{Control>}{Enter}{/Control}");
    release();
    await waitFor(() => expect(articles()).toHaveLength(2));
    expect(calls.filter((c) => c.method === "POST" && c.path === THREAD)).toHaveLength(1);
    expect(button).toBeEnabled();
    expect(field).toHaveValue("");
  });

  it("test_a_blank_comment_is_stopped_here_and_the_servers_422_is_shown_at_the_field", async () => {
    const { calls } = openIssue(OWNER, [FROM_CAROL], {
      post: () =>
        problemResponse(422, {
          detail: "The request is not valid: body.body: Value error, too many blank lines",
          errors: [
            {
              field: "body.body",
              message: "Value error, too many blank lines",
              type: "value_error",
            },
          ],
          request_id: "rid-422",
        }),
    });
    await thread();
    const user = userEvent.setup();
    const field = screen.getByRole("textbox", { name: "Add a comment" });
    await user.type(field, "   ");
    await user.click(screen.getByRole("button", { name: "Comment" }));
    expect(await screen.findByText("Write something first")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST" && c.path === THREAD)).toHaveLength(0);

    await user.clear(field);
    await user.type(field, "a{Enter}{Enter}{Enter}b");
    await user.click(screen.getByRole("button", { name: "Comment" }));
    const message = await screen.findByText("Value error, too many blank lines");
    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(field.getAttribute("aria-describedby")?.split(" ")).toContain(message.id);
    expect(screen.getByRole("alert")).toHaveTextContent("rid-422");
    // What was typed stays, to be corrected.
    expect(field).toHaveValue("a\n\n\nb");
    expect(articles()).toHaveLength(1);
  });

  it("test_the_author_edits_a_comment_and_the_focus_returns_to_it", async () => {
    const { calls } = openIssue(OWNER, [FROM_CAROL, { ...FROM_ADA, edited: false }]);
    await thread();
    const [carols, adas] = [article(0), article(1)];
    // Only one's own comments can be edited.
    expect(within(carols).queryByRole("button", { name: "Edit comment" })).toBeNull();
    expect(within(adas).queryByTestId("comment-edited")).toBeNull();
    const user = userEvent.setup();
    await user.click(within(adas).getByRole("button", { name: "Edit comment" }));
    const field = within(adas).getByRole("textbox", { name: "Edit your comment" });
    expect(field).toHaveValue("Looks fine");
    await waitFor(() => expect(field).toHaveFocus());
    await user.clear(field);
    await user.type(field, "Looks fine{Enter}once the test passes");
    await user.click(within(adas).getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(within(adas).getByTestId("comment-body").textContent).toBe(
        "Looks fine\nonce the test passes",
      ),
    );
    expect(within(adas).getByTestId("comment-edited")).toBeInTheDocument();
    await waitFor(() => expect(adas).toHaveFocus());
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.path).toBe(`${THREAD}/${FROM_ADA.id}`);
    expect(patch?.body).toEqual({ body: "Looks fine\nonce the test passes" });

    // Escape leaves the editor unchanged, the focus back on Edit.
    await user.click(within(adas).getByRole("button", { name: "Edit comment" }));
    await user.type(within(adas).getByRole("textbox", { name: "Edit your comment" }), " more");
    await user.keyboard("{Escape}");
    const edit = within(adas).getByRole("button", { name: "Edit comment" });
    await waitFor(() => expect(edit).toHaveFocus());
    expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(1);
  });

  it("test_an_owner_deletes_anyones_comment_behind_a_confirmation", async () => {
    const { calls } = openIssue(OWNER, [FROM_CAROL, FROM_ADA]);
    await thread();
    const user = userEvent.setup();
    await user.click(within(article(0)).getByRole("button", { name: "Delete comment" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete the comment?" });
    expect(dialog).toHaveTextContent("carol's comment will be removed for everyone.");
    await user.click(within(dialog).getByRole("button", { name: "Delete comment" }));
    await waitFor(() => expect(articles()).toHaveLength(1));
    expect(calls.find((c) => c.method === "DELETE")?.path).toBe(`${THREAD}/${FROM_CAROL.id}`);
    // The focus goes to the comment that took its place.
    await waitFor(() => expect(article(0)).toHaveFocus());
    expect(screen.getByRole("status")).toHaveTextContent("Comment deleted.");

    await user.click(within(article(0)).getByRole("button", { name: "Delete comment" }));
    const again = await screen.findByRole("dialog", { name: "Delete the comment?" });
    expect(again).toHaveTextContent("Your comment will be removed for everyone.");
    await user.click(within(again).getByRole("button", { name: "Delete comment" }));
    expect(await screen.findByText("No comments yet.")).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByRole("heading", { level: 2, name: "Comments" })).toHaveFocus(),
    );
  });

  const maintainer = { members: [{ user_id: VIEWER, role: "maintainer" }] };

  it("test_a_read_only_account_reads_the_thread_without_any_control_even_as_maintainer", async () => {
    // Even its own earlier comment: an author edits and deletes under the rule that let them
    // comment.
    const own = comment({ ...FROM_ADA, id: FROM_ADA.id, author_id: VIEWER, author_name: "vic" });
    openIssue(VIEWER, [FROM_CAROL, own], {
      account: { roles: ["readonly"] },
      project: maintainer,
    });
    const section = await thread();
    expect(within(section).queryByRole("textbox")).toBeNull();
    expect(within(section).queryAllByRole("button")).toHaveLength(0);
    expect(within(section).getByTestId("comment-reason")).toHaveTextContent(/read-only/);
  });

  it("test_an_agent_sees_no_form_on_an_issue_not_assigned_to_it", async () => {
    openIssue(VIEWER, [FROM_CAROL], { account: { roles: ["agent"] }, project: maintainer });
    const section = await thread();
    expect(within(section).queryByRole("textbox")).toBeNull();
    expect(within(section).getByTestId("comment-reason")).toHaveTextContent(
      "An automation account comments only on what is assigned to it.",
    );
  });

  it("test_an_agent_comments_on_the_issue_assigned_to_it", async () => {
    openIssue(VIEWER, [FROM_CAROL], {
      account: { roles: ["agent"] },
      project: maintainer,
      issue: { assignee_id: VIEWER },
    });
    const section = await thread();
    expect(within(section).getByRole("textbox", { name: "Add a comment" })).toBeInTheDocument();
    // Someone else's comment: an agent does not moderate.
    expect(within(section).queryByRole("button", { name: "Delete comment" })).toBeNull();
  });

  it("test_load_more_shows_the_next_page_and_moves_the_focus_to_it", async () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      comment({
        id: `c0000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
        issue_id: ISSUE_ID,
        author_id: CAROL,
        author_name: "carol",
        body: `Comment ${i + 1}`,
      }),
    );
    const { calls } = openIssue(OWNER, many);
    const section = await thread();
    expect(articles()).toHaveLength(50);
    expect(section).toHaveTextContent("60 comments");
    expect(section).toHaveTextContent("10 more comments");
    const user = userEvent.setup();
    await user.click(within(section).getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(articles()).toHaveLength(60));
    expect(articles().map((a) => within(a).getByTestId("comment-body").textContent)).toEqual(
      many.map((c) => c.body),
    );
    expect(within(section).queryByRole("button", { name: "Load more" })).toBeNull();
    await waitFor(() => expect(article(50)).toHaveFocus());
    expect(calls.map((c) => c.path)).toContain(`${THREAD}?limit=50&offset=50`);
  });
});

describe("the comments on a pull request", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_comment_on_a_pull_request_goes_to_its_thread", async () => {
    const prThread = `/api/v1/prs/${PR_ID}/comments`;
    const server = commentsServer(prThread, [], { id: OWNER, name: "ada" });
    const { calls } = renderApp(
      `/projects/${PROJECT_ID}/pulls/${PR_ID}`,
      (method, path, body, url) => {
        if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
        if (path === "/api/v1/auth/me") return jsonResponse(me(OWNER));
        if (path === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
        if (path === `/api/v1/prs/${PR_ID}`) return jsonResponse(PULL);
        if (path === `/api/v1/prs/${PR_ID}/review`) {
          return jsonResponse({ latest: null, latest_result: null, history: [] });
        }
        return server.respond(method, path, body, url);
      },
    );
    const section = await screen.findByRole("region", { name: "Comments" });
    expect(await within(section).findByText("No comments yet.")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(
      within(section).getByRole("textbox", { name: "Add a comment" }),
      "Rebase on trunk, please",
    );
    await user.click(within(section).getByRole("button", { name: "Comment" }));
    expect(await within(section).findByText("Rebase on trunk, please")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST" && c.path.endsWith("/comments"))).toEqual([
      { method: "POST", path: prThread, body: { body: "Rebase on trunk, please" } },
    ]);
    expect(server.state.comments).toHaveLength(1);
  });
});
