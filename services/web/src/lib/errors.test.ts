import { describe, expect, it } from "vitest";
import {
  ApiError,
  apiErrorFrom,
  describeError,
  fieldErrors,
  NetworkError,
  parseRetryAfter,
  retryDelay,
  shouldRetry,
} from "@/lib/errors";
import { problemResponse } from "@/test/render";

describe("error mapping", () => {
  it("test_validation_problem_maps_to_form_fields", async () => {
    const error = await apiErrorFrom(
      problemResponse(422, {
        detail: "The request is not valid",
        errors: [
          { field: "body.repository_url", message: "not a GitHub URL", type: "value_error" },
          { field: "body.settings.review_level", message: "bad level" },
          { field: "query.limit", message: "too big" },
        ],
      }),
    );
    expect(fieldErrors(error)).toEqual({
      repository_url: "not a GitHub URL",
      "settings.review_level": "bad level",
    });
  });

  it("test_password_policy_messages_for_one_field_are_joined", async () => {
    const error = await apiErrorFrom(
      problemResponse(422, {
        errors: [
          { field: "password", message: "Password must be at least 12 characters long" },
          { field: "password", message: "Password is too common" },
        ],
      }),
    );
    expect(fieldErrors(error).password).toBe(
      "Password must be at least 12 characters long; Password is too common",
    );
  });

  it("test_a_problem_naming_one_field_puts_its_detail_there", async () => {
    const error = await apiErrorFrom(
      problemResponse(409, {
        detail: "An account with this email address already exists",
        field: "email",
      }),
    );
    expect(fieldErrors(error)).toEqual({
      email: "An account with this email address already exists",
    });
  });

  it("test_conflict_lists_allowed_transitions", async () => {
    const error = await apiErrorFrom(
      problemResponse(409, {
        detail: "Cannot move an issue from closed to in_progress; allowed from closed: open",
        allowed_transitions: ["open"],
      }),
    );
    const info = describeError(error);
    expect(info.title).toBe("Conflict");
    expect(info.allowedTransitions).toEqual(["open"]);
  });

  it("test_rate_limit_says_when_to_retry", async () => {
    const error = await apiErrorFrom(
      problemResponse(429, { detail: "Too many requests." }, { "Retry-After": "30" }),
    );
    expect(describeError(error).message).toContain("Try again in 30 seconds.");
    expect(retryDelay(1, error)).toBe(30_000);
  });

  it("test_request_id_comes_from_the_header_or_the_body", async () => {
    const fromHeader = await apiErrorFrom(
      problemResponse(500, { request_id: "body-id" }, { "X-Request-ID": "header-id" }),
    );
    const fromBody = await apiErrorFrom(problemResponse(404, { request_id: "body-id" }));
    expect(describeError(fromHeader).requestId).toBe("header-id");
    expect(describeError(fromBody).requestId).toBe("body-id");
  });

  it("test_not_found_and_forbidden_are_said_plainly", () => {
    expect(describeError(new ApiError(404, {}, null, null)).title).toBe("Not found");
    expect(describeError(new ApiError(403, {}, null, null)).message).toBe(
      "You do not have permission to do this.",
    );
  });

  it("test_only_outages_and_network_errors_are_retried", () => {
    expect(shouldRetry(0, new NetworkError(new TypeError("fetch failed")))).toBe(true);
    expect(shouldRetry(0, new ApiError(503, {}, null, 5))).toBe(true);
    expect(shouldRetry(0, new ApiError(404, {}, null, null))).toBe(false);
    expect(shouldRetry(0, new ApiError(422, {}, null, null))).toBe(false);
    expect(shouldRetry(3, new ApiError(503, {}, null, null))).toBe(false);
  });

  it("test_a_non_json_error_body_still_gives_an_error", async () => {
    const error = await apiErrorFrom(new Response("<html>Bad gateway</html>", { status: 502 }));
    expect(error.status).toBe(502);
    expect(describeError(error).title).toBe("Service unavailable");
  });

  it("test_retry_after_accepts_an_http_date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10);
    expect(parseRetryAfter("soon", now)).toBeNull();
  });
});
