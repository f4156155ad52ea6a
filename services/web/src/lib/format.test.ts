import { describe, expect, it } from "vitest";
import { describeAgent, formatRelative } from "@/lib/format";

describe("user agents", () => {
  it("test_common_clients_are_named_and_unknown_ones_shown_as_sent", () => {
    expect(
      describeAgent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      ),
    ).toBe("Safari on macOS");
    expect(
      describeAgent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/140.0 Safari/537.36",
      ),
    ).toBe("Chrome on Linux");
    expect(describeAgent("python-httpx/0.28.1")).toBe("Python (httpx)");
    expect(describeAgent("")).toBe("Unknown client");
    expect(describeAgent("my-bot/1.0")).toBe("my-bot/1.0");
  });
});

describe("relative times", () => {
  const now = Date.parse("2026-03-10T12:00:00Z");
  it("test_recent_moments_read_as_how_long_ago_and_a_clock_ahead_as_just_now", () => {
    expect(formatRelative("2026-03-10T11:59:30Z", now)).toBe("just now");
    expect(formatRelative("2026-03-10T12:00:20Z", now)).toBe("just now");
    expect(formatRelative("2026-03-10T11:55:00Z", now)).toBe("5 minutes ago");
    expect(formatRelative("2026-03-10T09:00:00Z", now)).toBe("3 hours ago");
    expect(formatRelative("2026-03-09T11:00:00Z", now)).toBe("yesterday");
    expect(formatRelative("2026-02-20T12:00:00Z", now)).toBe("2 weeks ago");
    expect(formatRelative("2024-03-10T12:00:00Z", now)).toBe("2 years ago");
  });
});
