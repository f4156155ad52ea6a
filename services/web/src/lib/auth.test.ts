import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  acceptTokens,
  authFetch,
  getAccessToken,
  getSession,
  onSessionExpired,
  renewSession,
  resetSessionForTests,
  restoreSession,
  sessionEndedByServer,
  signIn,
  signOut,
} from "@/lib/auth";
import { ApiError } from "@/lib/errors";
import { jsonResponse, problemResponse } from "@/test/render";

const tokens = (access: string) => ({
  access_token: access,
  refresh_token: null,
  token_type: "bearer",
  expires_in: 900,
  refresh_expires_in: 604800,
});

function urlOf(input: RequestInfo | URL): string {
  return input instanceof Request ? input.url : String(input);
}

function authHeader(input: RequestInfo | URL, init?: RequestInit): string | null {
  if (input instanceof Request) return input.headers.get("Authorization");
  return new Headers(init?.headers).get("Authorization");
}

describe("session", () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    resetSessionForTests();
    // biome-ignore lint/suspicious/noDocumentCookie: the server sets this cookie; tests plant it.
    document.cookie = "swe_csrf=csrf-value; path=/";
    fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
    sessionStorage.clear();
  });

  it("test_concurrent_401s_share_one_refresh_and_each_retries_once", async () => {
    acceptTokens(tokens("old"));
    let refreshes = 0;
    let releaseRefresh: () => void = () => undefined;
    const refreshGate = new Promise<void>((resolve) => {
      releaseRefresh = resolve;
    });
    fetchMock.mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = urlOf(input);
      if (url.endsWith("/api/v1/auth/refresh")) {
        refreshes += 1;
        await refreshGate;
        return jsonResponse(tokens("new"));
      }
      return authHeader(input, init) === "Bearer new"
        ? jsonResponse({ ok: url })
        : problemResponse(401, { detail: "expired" });
    });

    const calls = [1, 2, 3, 4, 5].map((n) => authFetch(`/api/v1/projects/${n}`));
    await vi.waitFor(() => expect(refreshes).toBe(1));
    releaseRefresh();
    const answers = await Promise.all(calls);

    expect(refreshes).toBe(1);
    expect(answers.every((r) => r.ok)).toBe(true);
    expect(getAccessToken()).toBe("new");
    // 5 first tries + 1 refresh + 5 retries.
    expect(fetchMock).toHaveBeenCalledTimes(11);
  });

  it("test_refresh_sends_the_csrf_cookie_value_as_header", async () => {
    fetchMock.mockResolvedValue(jsonResponse(tokens("restored")));
    await restoreSession();
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe("/api/v1/auth/refresh");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect(new Headers(init.headers).get("X-CSRF-Token")).toBe("csrf-value");
    expect(getSession()).toEqual({ status: "signed-in", accessToken: "restored" });
  });

  it("test_failed_refresh_ends_the_session_and_reports_expiry", async () => {
    acceptTokens(tokens("old"));
    const expired = vi.fn();
    onSessionExpired(expired);
    fetchMock.mockImplementation(async (input: RequestInfo | URL) =>
      urlOf(input).endsWith("/refresh")
        ? problemResponse(401, { detail: "No swe_refresh cookie" })
        : problemResponse(401, { detail: "expired", request_id: "rid-1" }),
    );

    await expect(authFetch("/api/v1/projects")).rejects.toMatchObject({ status: 401 });
    expect(expired).toHaveBeenCalledTimes(1);
    expect(getSession()).toEqual({ status: "signed-out", accessToken: null });
  });

  it("test_a_live_connection_that_finds_the_session_ended_tells_the_user_once", async () => {
    acceptTokens(tokens("old"));
    const expired = vi.fn();
    onSessionExpired(expired);
    fetchMock.mockImplementation(async (input: RequestInfo | URL) =>
      urlOf(input).endsWith("/refresh")
        ? problemResponse(401, { detail: "Account locked" })
        : problemResponse(401, { detail: "revoked" }),
    );

    // A socket closed with 4401 renews first; a request's 401 right after must not tell twice.
    await expect(renewSession()).resolves.toBe(false);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(sessionEndedByServer()).toBe(true);
    expect(getSession()).toEqual({ status: "signed-out", accessToken: null });
    await expect(authFetch("/api/v1/projects")).rejects.toMatchObject({ status: 401 });
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it("test_a_renewal_with_no_session_to_renew_is_not_an_ending", async () => {
    const expired = vi.fn();
    onSessionExpired(expired);
    fetchMock.mockResolvedValue(problemResponse(401, { detail: "No swe_refresh cookie" }));

    await expect(renewSession()).resolves.toBe(false);
    expect(expired).not.toHaveBeenCalled();
    expect(sessionEndedByServer()).toBe(false);
  });

  it("test_a_renewal_that_gets_a_new_token_keeps_the_session", async () => {
    acceptTokens(tokens("old"));
    const expired = vi.fn();
    onSessionExpired(expired);
    fetchMock.mockResolvedValue(jsonResponse(tokens("new")));

    await expect(renewSession()).resolves.toBe(true);
    expect(getAccessToken()).toBe("new");
    expect(expired).not.toHaveBeenCalled();
  });

  it("test_a_401_that_survives_a_fresh_token_is_the_answer_not_a_sign_out", async () => {
    acceptTokens(tokens("old"));
    const expired = vi.fn();
    onSessionExpired(expired);
    fetchMock.mockImplementation(async (input: RequestInfo | URL) =>
      urlOf(input).endsWith("/refresh")
        ? jsonResponse(tokens("new"))
        : problemResponse(401, { detail: "The current password is incorrect" }),
    );
    await expect(
      authFetch("/api/v1/auth/change-password", { method: "POST" }),
    ).rejects.toMatchObject({ status: 401, message: "The current password is incorrect" });
    expect(expired).not.toHaveBeenCalled();
    expect(getSession()).toEqual({ status: "signed-in", accessToken: "new" });
  });

  it("test_a_wrong_password_401_does_not_trigger_a_refresh", async () => {
    fetchMock.mockResolvedValue(problemResponse(401, { detail: "Invalid credentials" }));
    await expect(signIn({ username: "a", password: "b" })).rejects.toBeInstanceOf(ApiError);
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("test_access_token_is_kept_in_memory_only", async () => {
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    fetchMock.mockResolvedValue(jsonResponse(tokens("secret-access-token")));
    await signIn({ username: "alice", password: "correct horse battery" });

    expect(getAccessToken()).toBe("secret-access-token");
    expect(setItem).not.toHaveBeenCalled();
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(document.cookie).not.toContain("secret-access-token");
    setItem.mockRestore();
  });

  it("test_sign_in_asks_for_cookie_mode", async () => {
    fetchMock.mockResolvedValue(jsonResponse(tokens("t")));
    await signIn({ username: "alice", password: "pw" });
    const request = fetchMock.mock.calls[0]?.[0] as Request;
    expect(await request.json()).toEqual({ username: "alice", password: "pw", cookie: true });
  });

  it("test_sign_out_calls_logout_with_bearer_and_csrf_then_forgets_the_token", async () => {
    acceptTokens(tokens("live"));
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await signOut();
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    const headers = new Headers(init.headers);
    expect(url).toBe("/api/v1/auth/logout");
    expect(headers.get("Authorization")).toBe("Bearer live");
    expect(headers.get("X-CSRF-Token")).toBe("csrf-value");
    expect(getAccessToken()).toBeNull();
  });

  it("test_an_outage_during_refresh_is_not_a_sign_out", async () => {
    acceptTokens(tokens("old"));
    fetchMock.mockImplementation(async (input: RequestInfo | URL) =>
      urlOf(input).endsWith("/refresh")
        ? problemResponse(503, { detail: "down" }, { "Retry-After": "5" })
        : problemResponse(401, { detail: "expired" }),
    );
    await expect(authFetch("/api/v1/projects")).rejects.toMatchObject({ status: 503 });
    expect(getSession().status).toBe("signed-in");
  });
});
