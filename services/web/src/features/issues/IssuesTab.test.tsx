import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { issue, page, signedIn } from "@/features/issues/testing";
import { renderApp } from "@/test/app";
import { OWNER, PROJECT_ID, VIEWER } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const LIST = `/projects/${PROJECT_ID}/issues`;

function listCalls(calls: { method: string; path: string }[]) {
  return calls
    .filter((c) => c.method === "GET" && c.path.startsWith("/api/v1/issues?"))
    .map((c) => Object.fromEntries(new URL(c.path, "http://x").searchParams));
}

describe("the issues list", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_filters_and_page_in_the_url_are_what_the_api_is_asked", async () => {
    const base = signedIn(OWNER);
    const { calls } = renderApp(`${LIST}?status=open&q=crash&sort=-priority&page=2`, (m, p) => {
      if (p === "/api/v1/issues") return jsonResponse(page([issue()], 120));
      return base(m, p);
    });
    expect(await screen.findByRole("link", { name: "Login fails" })).toBeInTheDocument();
    expect(listCalls(calls)[0]).toEqual({
      project_id: PROJECT_ID,
      status: "open",
      q: "crash",
      sort: "-priority",
      limit: "50",
      offset: "50",
    });
    expect(screen.getByLabelText("Status")).toHaveValue("open");
    expect(screen.getByLabelText("Search")).toHaveValue("crash");
    expect(screen.getByLabelText("Sort")).toHaveValue("-priority");
    expect(screen.getByText(/120 issues · page 2 of 3/)).toBeInTheDocument();
    // The next page is fetched before it is asked for.
    await waitFor(() => expect(listCalls(calls).some((q) => q.offset === "100")).toBe(true));
  });

  it("test_choosing_a_filter_puts_it_in_the_url_and_goes_to_the_first_page", async () => {
    const base = signedIn(OWNER);
    const { router, calls } = renderApp(`${LIST}?page=3`, (m, p) => {
      if (p === "/api/v1/issues") return jsonResponse(page([issue()], 200));
      return base(m, p);
    });
    await screen.findByRole("link", { name: "Login fails" });
    await userEvent.selectOptions(screen.getByLabelText("Priority"), "critical");
    await waitFor(() => expect(router.state.location.search).toEqual({ priority: "critical" }));
    await waitFor(() =>
      expect(listCalls(calls)).toContainEqual(
        expect.objectContaining({ priority: "critical", offset: "0" }),
      ),
    );
  });

  it("test_the_stats_strip_shows_counts_and_mean_time_to_resolve", async () => {
    const base = signedIn(OWNER);
    renderApp(LIST, (m, p) => {
      if (p === "/api/v1/issues") return jsonResponse(page([]));
      return base(m, p);
    });
    const strip = await screen.findByRole("region", { name: "Issue counts" });
    await within(strip).findByText("3 h 20 min");
    const figures: [string, string][] = [
      ["Open", "7"],
      ["In progress", "3"],
      ["Resolved", "2"],
    ];
    for (const [term, value] of figures) {
      expect(within(strip).getByText(term).nextElementSibling).toHaveTextContent(value);
    }
  });

  it("test_a_viewer_gets_the_list_without_the_new_issue_button", async () => {
    const base = signedIn(VIEWER);
    renderApp(LIST, (m, p) => {
      if (p === "/api/v1/issues") return jsonResponse(page([issue()]));
      return base(m, p);
    });
    const link = await screen.findByRole("link", { name: "Login fails" });
    expect(link).toHaveAttribute("href", `${LIST}/${issue().id}`);
    expect(await screen.findByText(/only its owner and maintainers can change them/)).toBeVisible();
    expect(screen.queryByRole("button", { name: "New issue" })).toBeNull();
  });

  it("test_the_servers_field_error_is_shown_under_its_field", async () => {
    const base = signedIn(OWNER);
    renderApp(LIST, (m, p) => {
      if (p === "/api/v1/issues" && m === "GET") return jsonResponse(page([]));
      if (p === "/api/v1/issues" && m === "POST") {
        return problemResponse(422, {
          detail: "The request is not valid",
          request_id: "rid-9",
          errors: [{ field: "body.labels.1", message: "String should have at most 50 characters" }],
        });
      }
      return base(m, p);
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "New issue" }));
    const dialog = await screen.findByRole("dialog");
    await user.type(within(dialog).getByLabelText(/^Title/), "Crash");
    const labels = within(dialog).getByLabelText(/^Labels/);
    await user.type(labels, "bug, ui");
    await user.click(within(dialog).getByRole("button", { name: "Create issue" }));
    expect(
      await within(dialog).findByText("String should have at most 50 characters"),
    ).toBeInTheDocument();
    expect(labels).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).getByRole("alert")).toHaveTextContent("rid-9");
  });
});
