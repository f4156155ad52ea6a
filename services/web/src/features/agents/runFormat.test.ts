import { describe, expect, it } from "vitest";
import { formatDuration, runScore, triggerText } from "@/features/agents/runFormat";

describe("run formatting", () => {
  it("reads durations", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(1234)).toBe("1.2 s");
    expect(formatDuration(184_000)).toBe("3 min 4 s");
    expect(formatDuration(3_720_000)).toBe("1 h 2 min");
  });

  it("finds the score of an analysis and of a review", () => {
    expect(runScore({ result: null })).toBeNull();
    expect(runScore({ result: { quality_score: 81.5 } })).toBe(81.5);
    expect(runScore({ result: { quality: { score: 70 } } })).toBe(70);
  });

  it("says what a run was started on", () => {
    expect(triggerText({ kind: "manual", ref: "main" })).toBe("main");
    expect(
      triggerText({ pull_request: { number: 7, base_ref: "main", head_ref: "fix" }, ref: "main" }),
    ).toBe("#7 fix → main");
    expect(triggerText({ issue: { title: "Crash" }, ref: "main" })).toBe("issue: Crash");
  });
});
