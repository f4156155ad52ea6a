import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ConnectionBanner } from "@/components/ConnectionBanner";
import { reportConnection } from "@/lib/connection";
import { ApiError, NetworkError } from "@/lib/errors";
import { renderWithTheme } from "@/test/render";

describe("ConnectionBanner", () => {
  it("test_an_outage_shows_a_banner_with_the_request_id_until_a_call_succeeds", () => {
    renderWithTheme(<ConnectionBanner />);
    expect(screen.queryByRole("status")).toBeNull();

    act(() =>
      reportConnection(
        "down",
        new ApiError(503, { detail: "The database is unavailable; retry shortly." }, "rid-9", 5),
      ),
    );
    const banner = screen.getByRole("status");
    expect(banner).toHaveTextContent("The database is unavailable; retry shortly.");
    expect(banner).toHaveTextContent("Retrying automatically.");
    expect(banner).toHaveTextContent("rid-9");

    act(() => reportConnection("up"));
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("test_a_lost_network_shows_the_banner", () => {
    renderWithTheme(<ConnectionBanner />);
    act(() => reportConnection("down", new NetworkError(new TypeError("Failed to fetch"))));
    expect(screen.getByRole("status")).toHaveTextContent("The server could not be reached");
    act(() => reportConnection("up"));
  });
});
