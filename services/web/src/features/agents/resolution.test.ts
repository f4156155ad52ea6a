import { describe, expect, it } from "vitest";
import { formatCost, formatDelta, readResolution } from "./resolution";

describe("readResolution", () => {
  it("test_a_delivered_result_reads_as_resolved_with_its_evidence", () => {
    const r = readResolution({
      summary: "patch on branch swe/fix-1: 1 file changed",
      resolved: true,
      passed: true,
      branch: "swe/fix-1",
      base_commit: "b".repeat(40),
      commit: "c".repeat(40),
      diff: "diff --git a/x.py b/x.py\n",
      patch: "--- a/x.py\n",
      diff_stats: { files: 1, added_lines: 3 },
      evidence: { fail_to_pass: ["t::a"], pass_to_pass: ["t::b", 7, "t::c"], candidate: 0 },
      score_change: { before: 70, after: 72.5, delta: 2.5 },
      model: { name: "m", calls: 4, tokens: 1200, cost: 0.0123, streamed: false },
      trajectory: [],
      pull_request: { status: "opened", number: 9, url: "https://github.com/o/r/pull/9" },
    });
    expect(r).toMatchObject({
      resolved: true,
      reason: null,
      branch: "swe/fix-1",
      commit: "c".repeat(40),
      diff: "diff --git a/x.py b/x.py\n",
      filesChanged: 1,
      addedLines: 3,
      failToPass: ["t::a"],
      // A name that is not a string is dropped, not shown as "7".
      passToPass: ["t::b", "t::c"],
      scoreChange: { before: 70, after: 72.5, delta: 2.5 },
      model: { name: "m", calls: 4, tokens: 1200, cost: 0.0123 },
      hasTrajectory: true,
      pullRequest: { status: "opened", number: 9, url: "https://github.com/o/r/pull/9" },
    });
  });

  it("test_an_unresolved_result_gives_its_reason_and_candidates", () => {
    const r = readResolution({
      summary: "no candidate passed: every candidate broke a test",
      resolved: false,
      candidates: [
        { candidate: 0, passed: false, agreement: 2, files: ["a.py"], regressions: ["t::x"] },
        "junk",
      ],
    });
    expect(r?.resolved).toBe(false);
    expect(r?.reason).toBe("every candidate broke a test");
    expect(r?.candidates).toEqual([
      { candidate: 0, passed: false, agreement: 2, files: ["a.py"], regressions: ["t::x"] },
    ]);
    expect(r?.pullRequest).toBeNull();
    expect(r?.scoreChange).toBeNull();
    expect(r?.hasTrajectory).toBe(false);
  });

  it("test_mistyped_fields_are_absent_and_a_non_object_is_no_resolution", () => {
    expect(readResolution(null)).toBeNull();
    expect(readResolution([1])).toBeNull();
    expect(readResolution("resolved")).toBeNull();
    const r = readResolution({
      resolved: "yes",
      evidence: "none",
      score_change: { before: "70", after: 72 },
      model: [],
      pull_request: { status: "weird", url: "javascript:alert(1)", number: "9" },
    });
    expect(r).toMatchObject({
      resolved: false,
      summary: "Not resolved.",
      failToPass: [],
      scoreChange: null,
      model: null,
      // A request the issues service has not answered counts as requested; no link but http(s).
      pullRequest: { status: "requested", url: null, number: null },
    });
  });

  it("test_the_patch_stands_in_for_a_missing_diff_and_the_delta_is_computed", () => {
    const r = readResolution({
      resolved: true,
      patch: "--- a/x\n+++ b/x\n",
      score_change: { before: 70, after: 68.25 },
    });
    expect(r?.diff).toBe("--- a/x\n+++ b/x\n");
    expect(r?.scoreChange?.delta).toBe(-1.75);
  });
});

describe("formatting", () => {
  it("test_costs_and_deltas_read_as_money_and_signed_numbers", () => {
    expect(formatCost(0)).toBe("$0.00");
    expect(formatCost(0.0042)).toBe("$0.0042");
    expect(formatCost(1.5)).toBe("$1.50");
    expect(formatDelta(2.5)).toBe("+2.5");
    expect(formatDelta(-1)).toBe("−1");
    expect(formatDelta(0)).toBe("±0");
  });
});
