/**
 * The notifications list: run status changes, newest first, at most `INBOX_SIZE`; unread =
 * newer than the last one the user marked read. The read mark is kept per user in this
 * browser's localStorage (an id, nothing secret), so a reload keeps it.
 */
import type { RunChange } from "@/lib/runFeed";

export const INBOX_SIZE = 50;
/** How much of a failed delivery's reason a toast and the bell show. */
export const REASON_SHOWN = 160;
const READ_KEY = "swe.notifications.read.";

export function addChanges(inbox: RunChange[], changes: RunChange[]): RunChange[] {
  const known = new Set(inbox.map((change) => change.id));
  const fresh = changes.filter((change) => !known.has(change.id));
  if (fresh.length === 0) return inbox;
  return [...fresh.reverse(), ...inbox].sort((a, b) => b.id - a.id).slice(0, INBOX_SIZE);
}

export function unreadCount(inbox: RunChange[], readUpTo: number): number {
  return inbox.filter((change) => change.id > readUpTo).length;
}

export function loadReadMark(userId: string): number {
  try {
    const value = Number(localStorage.getItem(READ_KEY + userId));
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch {
    return 0; // storage refused (privacy mode): nothing read yet
  }
}

export function saveReadMark(userId: string, id: number): void {
  try {
    localStorage.setItem(READ_KEY + userId, String(id));
  } catch {
    // Storage refused: the mark lasts until the page is left.
  }
}

const STATUS_TEXT: Record<string, string> = {
  pending: "queued",
  running: "started",
  completed: "completed",
  failed: "failed",
  cancelled: "was cancelled",
};

/**
 * "Run of analyzer completed", "Run of reviewer failed (timeout)"; a delivery: "Draft pull
 * request #17 opened", "Delivery failed: GitHub answered 422 …".
 */
export function describeChange(change: RunChange): string {
  const { delivery } = change;
  if (delivery?.status === "opened") {
    return `Draft pull request${delivery.number !== null ? ` #${delivery.number}` : ""} opened`;
  }
  if (delivery) {
    // GitHub's message may be long (up to 1,000 characters): the run's page shows it whole.
    const reason = delivery.error ?? "the draft pull request was not opened";
    return `Delivery failed: ${reason.length > REASON_SHOWN ? `${reason.slice(0, REASON_SHOWN)}…` : reason}`;
  }
  const what = STATUS_TEXT[change.status] ?? change.status;
  const reason =
    change.exit_reason && change.exit_reason !== "cancelled" ? ` (${change.exit_reason})` : "";
  return `Run of ${change.agent_name ?? "an agent"} ${what}${reason}`;
}

/**
 * Toasts are for the ends a user waits for: a run completed or failed, its draft pull request
 * opened or refused (once each: a delivery is its own notice, never the run completing again).
 */
export function deservesToast(change: RunChange): boolean {
  if (change.kind === "delivery") return true;
  return change.status === "completed" || change.status === "failed";
}

/** A toast's colour: red for what went wrong. */
export function isBadNews(change: RunChange): boolean {
  return change.kind === "delivery"
    ? change.delivery?.status === "failed"
    : change.status === "failed";
}
