/** How the console writes values for people. */

// One formatter for every date shown: `toLocaleString` builds a new one per call, which costs
// more than the rest of a table row.
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A timestamp in the browser's language and time zone; "—" when there is none. */
export function formatDate(value: string | null | undefined): string {
  return value ? DATE_TIME.format(new Date(value)) : "—";
}
