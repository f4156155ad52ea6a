/**
 * Export of what the page shows, built from the same rows as the charts and tables (so a
 * monthly roll-up exports as shown, which `/analytics/export` cannot: it knows no months).
 */
import type { Row } from "@/features/analytics/buckets";

export interface ExportColumn {
  key: string;
  label: string;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  // A leading =, +, - or @ would be a formula in a spreadsheet: prefix it with a quote.
  const safe = /^[=+\-@\t\r]/.test(text) && Number.isNaN(Number(text)) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(rows: Row[], columns: ExportColumn[]): string {
  const lines = [columns.map((c) => csvField(c.label)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c.key])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

export function toJson(meta: Record<string, unknown>, rows: Row[], columns: ExportColumn[]) {
  const data = rows.map((row) => Object.fromEntries(columns.map((c) => [c.key, row[c.key]])));
  return `${JSON.stringify({ ...meta, rows: data }, null, 2)}\n`;
}

/** Hands the text to the browser as a file (a blob URL: nothing leaves the page). */
export function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
