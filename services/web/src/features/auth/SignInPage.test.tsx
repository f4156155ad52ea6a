import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { jsonResponse, problemResponse } from "@/test/render";

const TOKENS = { access_token: "at", refresh_token: null, token_type: "bearer", expires_in: 900 };
const ME = {
  id: "11111111-1111-1111-1111-111111111111",
  email: "ada@example.com",
  username: "ada",
  full_name: "Ada",
  roles: ["user"],
  is_active: true,
  totp_enabled: true,
  github_linked: false,
  created_at: "2026-01-01T00:00:00Z",
  last_login_at: null,
};
const EMPTY_PAGE = { items: [], total: 0, limit: 20, offset: 0 };

describe("SignInPage", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_totp_accounts_get_a_code_step_then_land_where_they_were_going", async () => {
    let signedIn = false;
    const { router, calls } = renderApp("/sign-in?redirect=%2Fprojects", (method, path, body) => {
      if (path === "/api/v1/auth/refresh") {
        return signedIn ? jsonResponse(TOKENS) : problemResponse(401, { detail: "no cookie" });
      }
      if (path === "/api/v1/auth/login") {
        const code = (body as { totp_code?: string }).totp_code;
        if (!code) {
          return problemResponse(401, {
            detail: "A TOTP code is required for this account",
            mfa_required: true,
          });
        }
        signedIn = true;
        return jsonResponse(TOKENS);
      }
      if (path === "/api/v1/auth/me") return jsonResponse(ME);
      if (path === "/api/v1/projects" && method === "GET") return jsonResponse(EMPTY_PAGE);
      return undefined;
    });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Username or email"), "ada");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    const code = await screen.findByLabelText("Authentication code");
    expect(screen.getByRole("heading", { name: "Two-factor authentication" })).toBeInTheDocument();
    await user.type(code, "123456");
    await user.click(screen.getByRole("button", { name: "Verify" }));

    await waitFor(() => expect(router.state.location.pathname).toBe("/projects"));
    const logins = calls.filter((c) => c.path === "/api/v1/auth/login");
    expect(logins.map((c) => c.body)).toEqual([
      { username: "ada", password: "correct horse battery", cookie: true },
      { username: "ada", password: "correct horse battery", totp_code: "123456", cookie: true },
    ]);
  });

  it("test_a_wrong_password_shows_the_servers_message_and_request_id", async () => {
    renderApp("/sign-in", (_method, path) => {
      if (path === "/api/v1/auth/refresh") return problemResponse(401, { detail: "no cookie" });
      if (path === "/api/v1/auth/login") {
        return problemResponse(401, { detail: "Invalid username or password", request_id: "r-42" });
      }
      return undefined;
    });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Username or email"), "ada");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Invalid username or password");
    expect(alert).toHaveTextContent("r-42");
  });
});

describe("signed out by the server", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_session_the_server_ended_says_why_on_the_sign_in_page", async () => {
    renderApp("/sign-in?redirect=%2Fprojects&reason=ended", (_method, path) =>
      path === "/api/v1/auth/refresh" ? problemResponse(401, { detail: "revoked" }) : undefined,
    );
    const notice = await screen.findByRole("alert");
    expect(notice).toHaveTextContent("You have been signed out");
    expect(notice).toHaveTextContent("an administrator locked or disabled your account");
  });
});
