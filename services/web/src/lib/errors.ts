/**
 * One model of a failed API call, used by every page: the server's RFC 9457 problem details
 * (`application/problem+json`) plus what the response headers add (request id, Retry-After).
 * Views never parse responses themselves; they read an `ApiError` (or a `NetworkError`).
 */

export interface FieldError {
  field: string;
  message: string;
  type?: string | null;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
  /** The one field a conflict or bad request is about (`Conflict(..., field="email")`). */
  field?: string;
  allowed_transitions?: string[];
  mfa_required?: boolean;
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly requestId: string | null;
  /** Seconds to wait before retrying (429/503 `Retry-After`), when the server said. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    problem: Problem,
    requestId: string | null,
    retryAfter: number | null,
  ) {
    super(problem.detail ?? problem.title ?? `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/** The server could not be reached at all (offline, connection refused, DNS). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("The server could not be reached. Check your connection; we will keep retrying.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Build an `ApiError` from a non-2xx response (the body is read once, here). */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  let problem: Problem = {};
  const text = await response.text().catch(() => "");
  if (text) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        problem = parsed as Problem;
      }
    } catch {
      problem = {};
    }
  }
  const requestId = response.headers.get("X-Request-ID") ?? problem.request_id ?? null;
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  return new ApiError(response.status, problem, requestId, retryAfter);
}

/**
 * The form field a server error belongs to: `body.password` → `password`,
 * `body.settings.review_level` → `settings.review_level`; query/path errors have no field.
 */
export function fieldName(path: string): string | null {
  const parts = path.split(".");
  if (parts[0] === "body") parts.shift();
  else if (parts[0] === "query" || parts[0] === "path" || parts[0] === "header") return null;
  return parts.length > 0 && parts[0] !== "" ? parts.join(".") : null;
}

/** Field errors grouped by form field; messages for one field are joined. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  for (const item of error.problem.errors ?? []) {
    if (!item || typeof item.field !== "string") continue;
    const name = fieldName(item.field);
    if (!name) continue;
    const message = String(item.message ?? "is not valid");
    out[name] = out[name] ? `${out[name]}; ${message}` : message;
  }
  // A 409 "email already taken" or a 400 "code not valid" names its field beside the detail.
  const single = error.problem.field;
  if (Object.keys(out).length === 0 && typeof single === "string" && error.problem.detail) {
    const name = fieldName(single);
    if (name) out[name] = error.problem.detail;
  }
  return out;
}

export type ErrorKind =
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "conflict"
  | "validation"
  | "rate-limited"
  | "unavailable"
  | "network"
  | "server"
  | "other";

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof NetworkError) return "network";
  if (!(error instanceof ApiError)) return "other";
  switch (error.status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not-found";
    case 409:
      return "conflict";
    case 400:
    case 422:
      return "validation";
    case 429:
      return "rate-limited";
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return error.status >= 500 ? "server" : "other";
  }
}

export interface ErrorDescription {
  title: string;
  message: string;
  requestId: string | null;
  /** The states an object may move to from here (a 409 from a state machine). */
  allowedTransitions: string[];
  retryAfter: number | null;
  /** Whether retrying the same request may succeed. */
  retryable: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What to tell a user about any error, in plain words. */
export function describeError(error: unknown): ErrorDescription {
  const kind = errorKind(error);
  const api = error instanceof ApiError ? error : null;
  const detail = api?.problem.detail;
  const base = {
    requestId: api?.requestId ?? null,
    allowedTransitions: api?.problem.allowed_transitions ?? [],
    retryAfter: api?.retryAfter ?? null,
    retryable: false,
  };
  switch (kind) {
    case "network":
      return {
        ...base,
        title: "No connection",
        message: (error as Error).message,
        retryable: true,
      };
    case "unauthorized":
      return {
        ...base,
        title: "Signed out",
        message: detail ?? "Your session has ended; sign in again.",
      };
    case "forbidden":
      return {
        ...base,
        title: "Not allowed",
        message: detail ?? "You do not have permission to do this.",
      };
    case "not-found":
      return {
        ...base,
        title: "Not found",
        message: detail ?? "It does not exist, or you do not have access to it.",
      };
    case "conflict":
      // The allowed transitions (a state machine's 409) are listed by the error view.
      return {
        ...base,
        title: "Conflict",
        message: detail ?? "The change conflicts with the current state.",
      };
    case "validation":
      return { ...base, title: "Check the input", message: detail ?? "Some fields are not valid." };
    case "rate-limited": {
      const wait = base.retryAfter;
      const when = wait !== null ? `Try again in ${plural(wait, "second")}.` : "Try again shortly.";
      return {
        ...base,
        title: "Too many requests",
        message: `${detail ? `${detail} ` : ""}${when}`,
        retryable: true,
      };
    }
    case "unavailable":
      return {
        ...base,
        title: "Service unavailable",
        message: detail ?? "The service is temporarily unavailable; retrying shortly.",
        retryable: true,
      };
    case "server":
      return {
        ...base,
        title: "Something went wrong",
        message: detail ?? "The server failed to answer this request.",
      };
    default:
      return {
        ...base,
        title: "Something went wrong",
        message: error instanceof Error ? error.message : "Unexpected error.",
      };
  }
}

/** TanStack Query's retry rule: only what may succeed later, at most three times. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (failureCount >= 3) return false;
  const kind = errorKind(error);
  return kind === "network" || kind === "unavailable" || kind === "rate-limited";
}

/** Backoff: the server's Retry-After when given, else 1 s, 2 s, 4 s … capped at 30 s. */
export function retryDelay(failureCount: number, error: unknown): number {
  if (error instanceof ApiError && error.retryAfter !== null) {
    return Math.min(error.retryAfter, 60) * 1000;
  }
  return Math.min(1000 * 2 ** failureCount, 30_000);
}
