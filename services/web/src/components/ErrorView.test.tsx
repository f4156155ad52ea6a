import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ErrorView } from "@/components/ErrorView";
import { ApiError, NetworkError } from "@/lib/errors";
import { renderWithTheme } from "@/test/render";

describe("ErrorView", () => {
  it("test_shows_detail_and_request_id", () => {
    renderWithTheme(
      <ErrorView error={new ApiError(500, { detail: "It broke" }, "req-123", null)} />,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("It broke");
    expect(screen.getByText("req-123")).toBeInTheDocument();
  });

  it("test_shows_allowed_transitions_of_a_conflict", () => {
    const error = new ApiError(
      409,
      { detail: "Cannot close", allowed_transitions: ["in_progress", "open"] },
      "rid",
      null,
    );
    renderWithTheme(<ErrorView error={error} />);
    expect(screen.getByText("Allowed next states:")).toBeInTheDocument();
    expect(screen.getByText("in_progress")).toBeInTheDocument();
    expect(screen.getByText("open")).toBeInTheDocument();
  });

  it("test_rate_limited_says_when_to_retry", () => {
    renderWithTheme(<ErrorView error={new ApiError(429, {}, "rid", 12)} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Try again in 12 seconds.");
  });

  it("test_network_error_offers_retry", () => {
    renderWithTheme(
      <ErrorView error={new NetworkError(new TypeError("x"))} onRetry={() => undefined} />,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("No connection");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
