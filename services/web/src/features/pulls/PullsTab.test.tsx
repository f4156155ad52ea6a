import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { jsonResponse, problemResponse } from "@/test/render";
import { PULL as BASE_PULL, me, OWNER, PROJECT, PROJECT_ID, TOKENS } from "./testData";

const ME = me(OWNER);
const PULL = { ...BASE_PULL, review_status: "pending" };

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
