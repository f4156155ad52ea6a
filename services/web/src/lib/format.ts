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
