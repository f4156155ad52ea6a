import { describe, expect, it } from "vitest";
import { formatDuration, parseLabels } from "@/features/issues/format";

describe("formatDuration", () => {
  it("test_durations_read_in_the_largest_useful_units", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(90)).toBe("2 min");
    expect(formatDuration(3600)).toBe("1 h");
    expect(formatDuration(3 * 3600 + 20 * 60)).toBe("3 h 20 min");
    expect(formatDuration(2 * 86400 + 5 * 3600)).toBe("2 d 5 h");
    expect(formatDuration(-5)).toBe("0 s");
  });
});

describe("parseLabels", () => {
  it("test_labels_are_trimmed_deduplicated_and_empty_ones_dropped", () => {
    expect(parseLabels(" bug, ui ,, bug,")).toEqual(["bug", "ui"]);
    expect(parseLabels("")).toEqual([]);
  });
});
