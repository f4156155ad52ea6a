/** How the console writes values for people. */

// One formatter for every date shown: `toLocaleString` builds a new one per call, which costs
// more than the rest of a table row.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A timestamp in the browser's language and time zone; `none` ("—") when there is none. */
export function formatDate(value: string | null | undefined, none = "—"): string {
  return value ? DATE_TIME.format(new Date(value)) : none;
}

const BROWSERS: [RegExp, string][] = [
  [/Edg\//, "Edge"],
  [/OPR\//, "Opera"],
  [/Firefox\//, "Firefox"],
  [/(Chromium|HeadlessChrome|Chrome)\//, "Chrome"],
  [/Version\/[\d.]+.*Safari\//, "Safari"],
  [/^curl\//, "curl"],
  [/^python-httpx\//, "Python (httpx)"],
  [/^python-requests\//, "Python (requests)"],
];

const SYSTEMS: [RegExp, string][] = [
  [/Android/, "Android"],
  [/iPhone|iPad/, "iOS"],
  [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/CrOS/, "ChromeOS"],
  [/Linux/, "Linux"],
];

/** "Chrome on Linux" from a User-Agent header; the raw value when nothing is recognised. */
export function describeAgent(userAgent: string): string {
  if (!userAgent) return "Unknown client";
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 60);
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "5 minutes ago", "yesterday": how long ago `value` was, in the browser's language; under a
 * minute (or a clock a little ahead of the browser's) is "just now". The exact time goes in a
 * `title` beside it (`formatDate`). */
export function formatRelative(value: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(value).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return "—";
  if (seconds > -60) return "just now";
  for (const [unit, size] of STEPS) {
    if (-seconds >= size) return RELATIVE.format(-Math.floor(-seconds / size), unit);
  }
  return "just now";
}
