/**
 * The browser session. The access token lives in this module's memory only (never
 * localStorage/sessionStorage: a script injected into the page could read those); the refresh
 * token is an HttpOnly cookie the page cannot read at all. A reload restores the session with
 * one refresh call.
 *
 * - `refreshSession()` is single-flight: concurrent callers (say five queries that all got a
 *   401) share one refresh request; across tabs a Web Lock keeps refreshes one at a time, so a
 *   tab never presents a refresh cookie another tab has just rotated.
 * - A 401 ends the session only when the refresh fails too; one that survives a fresh token
 *   is the request's own answer (say a wrong current password), shown where it was asked.
 * - `signOut()` tells the other tabs (BroadcastChannel) so they end their session too.
 */

import { ApiError, apiErrorFrom, NetworkError } from "@/lib/errors";

export const AUTH_BASE = "/api/v1/auth";
export const CSRF_COOKIE = "swe_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const CHANNEL_NAME = "swe-session";
const REFRESH_LOCK = "swe-refresh";

export type SessionStatus = "unknown" | "signed-in" | "signed-out";
/** Why a signed-in page went to the sign-in page (shown there). */
export type SignOutReason = "ended" | "signed-out";

export interface TokenResponse {
  access_token: string;
  refresh_token?: string | null;
  token_type: string;
  expires_in: number;
  refresh_expires_in?: number;
}

interface SessionState {
  status: SessionStatus;
  accessToken: string | null;
}

let state: SessionState = { status: "unknown", accessToken: null };
const listeners = new Set<() => void>();
let inflightRefresh: Promise<boolean> | null = null;
let expiredHandler: (() => void) | null = null;
// Set when the server ended the session (a 401 no refresh cured), until the next sign-in: a
// navigation already under way when it ended is sent to sign in with the same reason.
let endedByServer = false;

/** Whether the server ended this tab's session (shown on the sign-in page). */
export function sessionEndedByServer(): boolean {
  return endedByServer;
}

function setState(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function getSession(): SessionState {
  return state;
}

export function getAccessToken(): string | null {
  return state.accessToken;
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Keep a token from a login, refresh or password change (in memory only). */
export function acceptTokens(tokens: TokenResponse): void {
  endedByServer = false;
  setState({ status: "signed-in", accessToken: tokens.access_token });
}

/** Forget the session in this tab (no server call). */
export function clearSession(): void {
  setState({ status: "signed-out", accessToken: null });
}

/**
 * The server ended the session (a 401 or a 4401 close no refresh cured): forget it and tell the
 * app once, whichever request or live connection noticed first.
 */
function endByServer(): void {
  if (endedByServer) return;
  endedByServer = true;
  clearSession();
  expiredHandler?.();
}

/**
 * Renew the access token for a live connection the server closed (4401). An ended session goes
 * through the expired handler as a request's 401 does, so the user is told at once rather than
 * at their next click.
 */
export async function renewSession(): Promise<boolean> {
  const wasSignedIn = state.status === "signed-in";
  const alive = await refreshSession();
  if (!alive && wasSignedIn) endByServer();
  return alive;
}

/** Called when a request's 401 could not be cured by a refresh (the app sends the user to sign in). */
export function onSessionExpired(handler: (() => void) | null): void {
  expiredHandler = handler;
}

export function readCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function csrfHeaders(): Record<string, string> {
  const csrf = readCookie(CSRF_COOKIE);
  return csrf ? { [CSRF_HEADER]: csrf } : {};
}

async function postRefresh(): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch(`${AUTH_BASE}/refresh`, {
      method: "POST",
      credentials: "same-origin",
      headers: csrfHeaders(),
    });
  } catch (cause) {
    throw new NetworkError(cause);
  }
  if (response.ok) {
    acceptTokens((await response.json()) as TokenResponse);
    return true;
  }
  if (response.status >= 500 || response.status === 429) {
    // The session may well be alive: an outage is not a sign-out.
    throw await apiErrorFrom(response);
  }
  clearSession();
  return false;
}

function withRefreshLock(run: () => Promise<boolean>): Promise<boolean> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (!locks) return run();
  return locks.request(REFRESH_LOCK, () => run()) as unknown as Promise<boolean>;
}

/**
 * Get a new access token with the refresh cookie. Resolves true when the session lives on,
 * false when it has ended (the state is then "signed-out"); rejects on a network error or an
 * outage. Concurrent callers share one request.
 */
export function refreshSession(): Promise<boolean> {
  if (!inflightRefresh) {
    inflightRefresh = withRefreshLock(postRefresh).finally(() => {
      inflightRefresh = null;
    });
  }
  return inflightRefresh;
}

/** Restore the session on page load (the refresh cookie survives a reload). */
export async function restoreSession(): Promise<SessionStatus> {
  if (state.status !== "unknown") return state.status;
  try {
    await refreshSession();
  } catch {
    clearSession();
  }
  return state.status;
}

// Calls whose 401 means "wrong credentials", not "the session expired".
const NO_REFRESH_PATHS = [
  `${AUTH_BASE}/login`,
  `${AUTH_BASE}/token`,
  `${AUTH_BASE}/refresh`,
  `${AUTH_BASE}/register`,
  `${AUTH_BASE}/password-reset/`,
  `${AUTH_BASE}/logout`,
];

function pathOf(url: string): string {
  try {
    return new URL(url, "http://localhost").pathname;
  } catch {
    return url;
  }
}

/** A same-origin path as a full URL (Request needs one outside a browser page, e.g. in tests). */
function absolute(input: Request | string | URL): Request | string | URL {
  if (typeof input === "string" && input.startsWith("/") && typeof location !== "undefined") {
    return new URL(input, location.origin);
  }
  return input;
}

async function send(request: Request, token: string | null): Promise<Response> {
  const headers = new Headers(request.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  try {
    return await fetch(new Request(request, { headers, credentials: "same-origin" }));
  } catch (cause) {
    throw new NetworkError(cause);
  }
}

/**
 * The fetch every API call goes through: adds the bearer token; on a 401 refreshes once
 * (shared with concurrent calls) and retries once; turns any other failure into an
 * `ApiError`/`NetworkError` carrying the problem details and the request id.
 */
export async function authFetch(
  input: Request | string | URL,
  init?: RequestInit,
): Promise<Response> {
  const request = input instanceof Request && !init ? input : new Request(absolute(input), init);
  const retryCopy = request.clone();
  const tokenUsed = state.accessToken;
  let response = await send(request, tokenUsed);
  if (response.status === 401 && !NO_REFRESH_PATHS.some((p) => pathOf(request.url).startsWith(p))) {
    // Another call may have refreshed while this one was in flight: then just retry.
    const renewed = state.accessToken !== tokenUsed && state.accessToken !== null;
    const alive = renewed || (await refreshSession());
    if (alive) {
      // A 401 that survives a fresh token is the request's own answer (a wrong current
      // password on change-password or TOTP disable), not an ended session.
      response = await send(retryCopy, state.accessToken);
    } else {
      endByServer();
    }
  }
  if (!response.ok) throw await apiErrorFrom(response);
  return response;
}

/** Sign in with a password (and a TOTP code when the account has TOTP on). */
export async function signIn(body: {
  username: string;
  password: string;
  totp_code?: string;
}): Promise<void> {
  const response = await authFetch(`${AUTH_BASE}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, cookie: true }),
  });
  acceptTokens((await response.json()) as TokenResponse);
  broadcast({ type: "signed-in" });
}

/** Whether a failed sign-in asks for the TOTP step (401 with `mfa_required`). */
export function needsTotp(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401 && error.problem.mfa_required === true;
}

/** End the session on the server and in every tab of this browser. */
export async function signOut(): Promise<void> {
  const token = state.accessToken;
  try {
    if (token) {
      await fetch(`${AUTH_BASE}/logout`, {
        method: "POST",
        credentials: "same-origin",
        headers: { Authorization: `Bearer ${token}`, ...csrfHeaders() },
      });
    }
  } catch {
    // Offline: the session still ends here; the server-side token expires on its own.
  } finally {
    clearSession();
    broadcast({ type: "signed-out" });
  }
}

type SessionMessage = { type: "signed-out" } | { type: "signed-in" };

let channel: BroadcastChannel | null = null;

function getChannel(): BroadcastChannel | null {
  if (typeof BroadcastChannel === "undefined") return null;
  if (!channel) channel = new BroadcastChannel(CHANNEL_NAME);
  return channel;
}

function broadcast(message: SessionMessage): void {
  getChannel()?.postMessage(message);
}

/** Follow the other tabs: a sign-out there ends the session here, a sign-in there restores it. */
export function listenToOtherTabs(onSignedOut: () => void): () => void {
  const ch = getChannel();
  if (!ch) return () => undefined;
  const handler = (event: MessageEvent<SessionMessage>) => {
    if (event.data?.type === "signed-out" && state.status !== "signed-out") {
      clearSession();
      onSignedOut();
    } else if (event.data?.type === "signed-in" && state.status !== "signed-in") {
      void refreshSession().catch(() => undefined);
    }
  };
  ch.addEventListener("message", handler);
  return () => ch.removeEventListener("message", handler);
}

/** Test hook: forget everything (module state survives between tests otherwise). */
export function resetSessionForTests(): void {
  state = { status: "unknown", accessToken: null };
  inflightRefresh = null;
  expiredHandler = null;
  endedByServer = false;
}
