import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { profileChanges } from "@/features/account/ProfilePage";
import { groupSecret } from "@/features/account/SecurityPage";
import { orderSessions } from "@/features/account/SessionsPage";
import { getSession } from "@/lib/auth";
import { renderApp } from "@/test/app";
import { meAs, TOKENS } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const ME = meAs();

function signedIn(extra: (method: string, path: string, body: unknown) => Response | undefined) {
  return (method: string, path: string, body: unknown) => {
    if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (path === "/api/v1/auth/me" && method === "GET") return jsonResponse(ME);
    return extra(method, path, body);
  };
}

describe("profile", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_only_changes_are_sent_and_a_new_email_needs_the_current_password", () => {
    expect(
      profileChanges(ME, { full_name: "Ada L", email: "ada@example.com", current_password: "" }),
    ).toEqual({
      full_name: "Ada L",
    });
    expect(
      profileChanges(ME, { full_name: "Ada", email: "new@example.com", current_password: "" }),
    ).toBeUndefined();
    expect(
      profileChanges(ME, { full_name: "Ada", email: "new@example.com", current_password: "pw" }),
    ).toEqual({
      email: "new@example.com",
      current_password: "pw",
    });
    // Case alone is no change (the server stores addresses in lower case).
    expect(
      profileChanges(ME, { full_name: "Ada", email: "ADA@example.com", current_password: "" }),
    ).toEqual({});
  });

  it("test_a_wrong_current_password_is_shown_next_to_its_field", async () => {
    const { calls } = renderApp(
      "/account",
      signedIn((method, path) => {
        if (path === "/api/v1/auth/me" && method === "PATCH") {
          return problemResponse(403, {
            detail: "current_password is incorrect",
            request_id: "rid-9",
            errors: [{ field: "current_password", message: "is incorrect" }],
          });
        }
        return undefined;
      }),
    );
    const user = userEvent.setup();
    const email = await screen.findByLabelText(/^Email/);
    expect(screen.queryByLabelText(/^Current password/)).toBeNull();
    await user.clear(email);
    await user.type(email, "ada.new@example.com");
    const current = await screen.findByLabelText(/^Current password/);
    await user.click(screen.getByRole("button", { name: "Save profile" }));
    expect(
      await screen.findByText("Enter your current password to change the email address"),
    ).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(0);

    await user.type(current, "not my password");
    await user.click(screen.getByRole("button", { name: "Save profile" }));
    expect(await screen.findByText("is incorrect")).toBeInTheDocument();
    expect(current).toHaveAccessibleDescription(expect.stringContaining("is incorrect"));
    expect(screen.getByRole("alert")).toHaveTextContent("rid-9");
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({
      email: "ada.new@example.com",
      current_password: "not my password",
    });
  });
});

describe("password and two-factor", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_wrong_current_password_stays_on_the_page_signed_in", async () => {
    renderApp(
      "/account/security",
      signedIn((_method, path) =>
        path === "/api/v1/auth/change-password"
          ? problemResponse(401, { detail: "The current password is incorrect" })
          : undefined,
      ),
    );
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Current password/), "wrong one");
    const fresh = screen.getByLabelText(/^New password/);
    await user.type(fresh, "short");
    // The policy is checked as the user types, as on the register page.
    expect(screen.getByText(/At least 12 characters/)).toHaveTextContent("(not met)");
    await user.clear(fresh);
    await user.type(fresh, "a long enough passphrase 9");
    await user.type(
      screen.getByLabelText(/^Repeat the new password/),
      "a long enough passphrase 9",
    );
    await user.click(screen.getByRole("button", { name: "Change password" }));

    expect(await screen.findByText("The current password is incorrect")).toBeInTheDocument();
    expect(screen.getByLabelText(/^Current password/)).toHaveAccessibleDescription(
      "The current password is incorrect",
    );
    expect(getSession().status).toBe("signed-in");
  });

  it("test_a_changed_password_keeps_this_session_with_the_new_token_and_says_others_ended", async () => {
    const { calls } = renderApp(
      "/account/security",
      signedIn((_method, path) =>
        path === "/api/v1/auth/change-password"
          ? jsonResponse({ ...TOKENS, access_token: "after-change" })
          : undefined,
      ),
    );
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Current password/), "old passphrase here");
    await user.type(screen.getByLabelText(/^New password/), "a long enough passphrase 9");
    await user.type(
      screen.getByLabelText(/^Repeat the new password/),
      "a long enough passphrase 9",
    );
    await user.click(screen.getByRole("button", { name: "Change password" }));

    expect(await screen.findByText(/Your other sessions have ended/)).toBeInTheDocument();
    expect(getSession().accessToken).toBe("after-change");
    expect(calls.find((c) => c.path === "/api/v1/auth/change-password")?.body).toEqual({
      current_password: "old passphrase here",
      new_password: "a long enough passphrase 9",
      cookie: true,
    });
  });

  it("test_enrolment_shows_a_qr_code_and_the_secret_then_confirms_with_a_code", async () => {
    let enabled = false;
    renderApp("/account/security", (method, path, body) => {
      if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (path === "/api/v1/auth/me") return jsonResponse(meAs({ totp_enabled: enabled }));
      if (path === "/api/v1/auth/totp/enroll") {
        return jsonResponse({
          secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
          otpauth_uri:
            "otpauth://totp/SWE:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        });
      }
      if (path === "/api/v1/auth/totp/confirm" && method === "POST") {
        if ((body as { code: string }).code !== "123456") {
          return problemResponse(400, { detail: "The TOTP code is not valid", field: "code" });
        }
        enabled = true;
        return new Response(null, { status: 204 });
      }
      return undefined;
    });
    const user = userEvent.setup();
    await user.click(
      await screen.findByRole("button", { name: "Set up two-factor authentication" }),
    );
    expect(await screen.findByRole("img", { name: /QR code/ })).toBeInTheDocument();
    expect(screen.getByTestId("totp-secret")).toHaveTextContent("JBSW Y3DP EHPK 3PXP");

    const code = screen.getByLabelText(/^Authentication code/);
    await user.type(code, "000000");
    await user.click(screen.getByRole("button", { name: "Turn on two-factor authentication" }));
    expect(await screen.findByText("The TOTP code is not valid")).toBeInTheDocument();
    expect(code).toHaveAttribute("aria-invalid", "true");

    await user.clear(code);
    await user.type(code, "123456");
    await user.click(screen.getByRole("button", { name: "Turn on two-factor authentication" }));
    expect(
      await screen.findByText("Every sign-in now asks for a code from your authenticator app."),
    ).toBeInTheDocument();
    expect(
      screen.getByRole("button", { name: "Turn off two-factor authentication" }),
    ).toBeInTheDocument();
  });

  it("test_the_secret_is_grouped_by_four", () => {
    expect(groupSecret("ABCDEFGHIJ")).toBe("ABCD EFGH IJ");
  });
});

describe("sessions and API keys", () => {
  afterEach(() => vi.unstubAllGlobals());

  const SESSIONS = [
    {
      id: "s-old",
      created_at: "2026-01-01T00:00:00Z",
      last_used_at: "2026-01-02T00:00:00Z",
      user_agent: "curl/8.5.0",
      ip: "203.0.113.5",
      current: false,
    },
    {
      id: "s-me",
      created_at: "2026-01-03T00:00:00Z",
      last_used_at: "2026-01-03T00:00:00Z",
      user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36",
      ip: "127.0.0.1",
      current: true,
    },
    {
      id: "s-new",
      created_at: "2026-01-01T00:00:00Z",
      last_used_at: "2026-01-05T00:00:00Z",
      user_agent: "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0",
      ip: "198.51.100.7",
      current: false,
    },
  ];

  it("test_this_device_comes_first_then_the_latest_used", () => {
    expect(orderSessions(SESSIONS).map((s) => s.id)).toEqual(["s-me", "s-new", "s-old"]);
  });

  it("test_this_device_is_marked_and_only_the_others_can_be_revoked", async () => {
    const { calls } = renderApp(
      "/account/sessions",
      signedIn((method, path) => {
        if (path === "/api/v1/auth/sessions" && method === "GET") return jsonResponse(SESSIONS);
        if (path.startsWith("/api/v1/auth/sessions/") && method === "DELETE") {
          return new Response(null, { status: 204 });
        }
        return undefined;
      }),
    );
    const user = userEvent.setup();
    const rows = await screen.findAllByTestId("session-row");
    expect(within(rows[0] as HTMLElement).getByText("this device")).toBeInTheDocument();
    expect(within(rows[0] as HTMLElement).queryByRole("button", { name: /Revoke/ })).toBeNull();
    expect(within(rows[1] as HTMLElement).getByText("Firefox on Windows")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Sign out all other sessions" }));
    await user.click(await screen.findByRole("button", { name: "Sign them out" }));
    await waitFor(() =>
      expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual([
        "/api/v1/auth/sessions/s-new",
        "/api/v1/auth/sessions/s-old",
      ]),
    );
  });

  it("test_a_key_needs_a_scope_is_created_with_its_scopes_and_expiry_and_shown_once", async () => {
    const { calls } = renderApp(
      "/account/api-keys",
      signedIn((method, path, body) => {
        if (path === "/api/v1/auth/api-keys" && method === "GET") {
          return jsonResponse({ items: [], total: 0, limit: 20, offset: 0 });
        }
        if (path === "/api/v1/auth/api-keys" && method === "POST") {
          const sent = body as { name: string; scopes: string[]; expires_at: string | null };
          return jsonResponse(
            {
              id: "k1",
              name: sent.name,
              prefix: "abcdef123456",
              scopes: sent.scopes,
              created_at: "2026-01-01T00:00:00Z",
              expires_at: sent.expires_at,
              last_used_at: null,
              revoked_at: null,
              key: "swe_abcdef123456_the-secret",
            },
            201,
          );
        }
        return undefined;
      }),
    );
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText(/^Name/), "CI pipeline");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByText(/Pick at least one scope/)).toBeInTheDocument();
    // Admin-only families and levels are not offered to a user.
    expect(screen.queryByRole("radiogroup", { name: /Gateway/ })).toBeNull();

    const projects = screen.getByRole("radiogroup", { name: /^Projects/ });
    await user.click(within(projects).getByRole("radio", { name: "Read" }));
    const issues = screen.getByRole("radiogroup", { name: /^Issues/ });
    await user.click(within(issues).getByRole("radio", { name: "Read and write" }));
    await user.selectOptions(screen.getByLabelText(/^Expires/), "never");
    await user.click(screen.getByRole("button", { name: "Create key" }));

    expect(await screen.findByText("swe_abcdef123456_the-secret")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy key" })).toBeInTheDocument();
    expect(
      calls.find((c) => c.method === "POST" && c.path === "/api/v1/auth/api-keys")?.body,
    ).toEqual({
      name: "CI pipeline",
      scopes: ["projects:read", "issues:write"],
      expires_at: null,
    });
    await user.click(screen.getByRole("button", { name: "I have stored it" }));
    expect(screen.queryByText("swe_abcdef123456_the-secret")).toBeNull();
  });
});
