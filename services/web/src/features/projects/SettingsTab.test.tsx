import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { me, OWNER, PROJECT, PROJECT_ID, TOKENS } from "@/test/data";
import { jsonResponse } from "@/test/render";

describe("the project's Settings tab", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_refused_github_token_marks_its_field_invalid_and_says_why", async () => {
    renderApp(`/projects/${PROJECT_ID}/settings`, (method, url) => {
      if (url === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (url === "/api/v1/auth/me") return jsonResponse(me(OWNER));
      if (url === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
      if (url === `/api/v1/issues/projects/${PROJECT_ID}/github-token` && method === "GET") {
        return jsonResponse({ configured: false, updated_at: null });
      }
      return undefined;
    });
    const user = userEvent.setup();
    const field = await screen.findByLabelText("Token");
    await user.type(field, "not a token!");
    await user.click(screen.getByRole("button", { name: "Save token" }));

    await waitFor(() => expect(field).toHaveAttribute("aria-invalid", "true"));
    expect(field).toHaveAccessibleDescription(/only letters, digits/);
  });
});
