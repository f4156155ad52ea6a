import { describe, expect, it } from "vitest";
import { describeAgent } from "@/lib/format";

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
