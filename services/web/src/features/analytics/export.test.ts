import { describe, expect, it } from "vitest";
import { toCsv, toJson } from "@/features/analytics/export";

const columns = [
  { key: "t", label: "bucket_start" },
  { key: "issues_opened", label: "issues_opened" },
];

describe("the export of what is shown", () => {
  it("test_csv_has_a_header_and_one_line_per_row", () => {
    const csv = toCsv(
      [
        { t: "2026-02", issues_opened: 4 },
        { t: "2026-03", issues_opened: 0 },
      ],
      columns,
    );
    expect(csv).toBe("bucket_start,issues_opened\r\n2026-02,4\r\n2026-03,0\r\n");
  });

  it("test_csv_quotes_commas_and_quotes_and_defuses_formulas", () => {
    const csv = toCsv([{ t: 'a,"b"', issues_opened: "=HYPERLINK(1)" }], columns);
    expect(csv.split("\r\n")[1]).toBe(`"a,""b""",'=HYPERLINK(1)`);
    // A negative number stays a number.
    expect(toCsv([{ t: "x", issues_opened: -3 }], columns).split("\r\n")[1]).toBe("x,-3");
  });

  it("test_json_carries_the_window_and_the_rows", () => {
    const json = JSON.parse(
      toJson(
        { range: "year", bucket: "month", tz: "UTC" },
        [{ t: "2026-02", issues_opened: 4, extra: 1 }],
        columns,
      ),
    );
    expect(json).toEqual({
      range: "year",
      bucket: "month",
      tz: "UTC",
      rows: [{ t: "2026-02", issues_opened: 4 }],
    });
  });
});
