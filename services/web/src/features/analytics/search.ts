/**
 * The analytics pages' range, bucket and time zone, kept in the URL (?range=&bucket=&tz=).
 * This module is small and chart-free: the route reads it on every navigation, while the
 * charts load with the page's own chunk.
 */
import type { Interval, RangeName } from "@/client/types.gen";

export const RANGES: { value: RangeName; label: string }[] = [
  { value: "week", label: "Last 7 days" },
  { value: "month", label: "Last 30 days" },
  { value: "quarter", label: "Last 90 days" },
  { value: "year", label: "Last 365 days" },
];

/** Day and week are the API's own intervals; a month is summed here from daily points. */
export type Bucket = "day" | "week" | "month";
export const BUCKETS: { value: Bucket; label: string }[] = [
  { value: "day", label: "Day" },
  { value: "week", label: "Week" },
  { value: "month", label: "Month" },
];

export const DEFAULT_RANGE: RangeName = "month";
export const DEFAULT_BUCKET: Bucket = "day";

export interface AnalyticsSearch {
  range?: RangeName;
  bucket?: Bucket;
  /** An IANA zone; absent means the browser's own. */
  tz?: string;
}

/** The browser's time zone (what the page uses when the URL names none). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** A zone the browser knows by that name and the API accepts (at most 64 characters). */
export function isTimeZone(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** Keeps what the API would accept and drops defaults, so a plain URL means the defaults. */
export function parseAnalyticsSearch(search: Record<string, unknown>): AnalyticsSearch {
  const out: AnalyticsSearch = {};
  const range = RANGES.find((r) => r.value === search.range)?.value;
  if (range && range !== DEFAULT_RANGE) out.range = range;
  const bucket = BUCKETS.find((b) => b.value === search.bucket)?.value;
  if (bucket && bucket !== DEFAULT_BUCKET) out.bucket = bucket;
  if (isTimeZone(search.tz)) out.tz = search.tz;
  return out;
}

/** What the page asks the API for: every value filled in. */
export interface SeriesQuery {
  range: RangeName;
  bucket: Bucket;
  interval: Interval;
  tz: string;
}

export function seriesQuery(search: AnalyticsSearch, fallbackTz = browserTimeZone()): SeriesQuery {
  const bucket = search.bucket ?? DEFAULT_BUCKET;
  return {
    range: search.range ?? DEFAULT_RANGE,
    bucket,
    // Months are not an API interval: ask for days and sum them by calendar month.
    interval: bucket === "week" ? "week" : "day",
    tz: search.tz ?? fallbackTz,
  };
}

/** The URL after a control changes: a value set back to its default leaves the URL. */
export function withChange(search: AnalyticsSearch, change: AnalyticsSearch): AnalyticsSearch {
  return parseAnalyticsSearch({ ...search, ...change });
}
