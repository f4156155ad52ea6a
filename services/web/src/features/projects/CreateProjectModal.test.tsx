import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { acceptTokens } from "@/lib/auth";
import { renderApp } from "@/test/app";
import { jsonResponse, problemResponse } from "@/test/render";

const EMPTY_PAGE = { items: [], total: 0, limit: 20, offset: 0 };

describe("creating a project", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_the_servers_repository_url_message_is_shown_under_the_field", async () => {
    renderApp("/projects", (method, path) => {
      if (path === "/api/v1/auth/refresh") {
        return jsonResponse({ access_token: "at", token_type: "bearer", expires_in: 900 });
      }
      if (path === "/api/v1/auth/me") return problemResponse(404, {});
      if (path === "/api/v1/projects" && method === "GET") return jsonResponse(EMPTY_PAGE);
      if (path === "/api/v1/projects" && method === "POST") {
        return problemResponse(422, {
          detail: "The request is not valid: body.repository_url: scheme 'ftp' is not allowed",
          request_id: "rid-7",
          errors: [{ field: "body.repository_url", message: "scheme 'ftp' is not allowed" }],
        });
      }
      return undefined;
    });
    acceptTokens({ access_token: "at", token_type: "bearer", expires_in: 900 });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "New project" }));
    const dialog = await screen.findByRole("dialog");
    await user.type(within(dialog).getByLabelText(/^Name/), "Demo");
    const url = within(dialog).getByLabelText(/^Repository URL/);
    await user.type(url, "ftp://example.com/r");
    await user.click(within(dialog).getByRole("button", { name: "Create project" }));

    expect(await within(dialog).findByText("scheme 'ftp' is not allowed")).toBeInTheDocument();
    expect(url).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).getByRole("alert")).toHaveTextContent("rid-7");
  });
});
