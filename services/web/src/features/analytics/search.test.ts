import { describe, expect, it } from "vitest";
import { parseAnalyticsSearch, seriesQuery, withChange } from "@/features/analytics/search";

describe("the analytics pages' URL", () => {
  it("test_range_bucket_and_zone_are_kept", () => {
    expect(parseAnalyticsSearch({ range: "year", bucket: "month", tz: "Europe/Berlin" })).toEqual({
      range: "year",
      bucket: "month",
      tz: "Europe/Berlin",
    });
  });

  it("test_defaults_stay_out_of_the_url", () => {
    expect(parseAnalyticsSearch({ range: "month", bucket: "day" })).toEqual({});
  });

  it("test_values_the_api_would_refuse_are_dropped_not_sent", () => {
    expect(
      parseAnalyticsSearch({ range: "decade", bucket: "hourly", tz: "Mars/Olympus_Mons" }),
    ).toEqual({});
    expect(parseAnalyticsSearch({ tz: `Europe/${"x".repeat(80)}` })).toEqual({});
    expect(parseAnalyticsSearch({ tz: 3, range: ["year"] })).toEqual({});
  });

  it("test_a_month_bucket_asks_the_api_for_days_in_the_chosen_zone", () => {
    expect(seriesQuery({ bucket: "month", tz: "Asia/Tokyo" }, "UTC")).toEqual({
      range: "month",
      bucket: "month",
      interval: "day",
      tz: "Asia/Tokyo",
    });
    expect(seriesQuery({ bucket: "week", range: "year" }, "America/New_York")).toEqual({
      range: "year",
      bucket: "week",
      interval: "week",
      tz: "America/New_York",
    });
  });

  it("test_a_control_set_back_to_its_default_leaves_the_url", () => {
    expect(withChange({ range: "year", tz: "UTC" }, { range: "month" })).toEqual({ tz: "UTC" });
    expect(withChange({}, { bucket: "week" })).toEqual({ bucket: "week" });
  });
});
