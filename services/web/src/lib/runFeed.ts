/**
 * Run status changes the user may see, over the gateway's WebSocket `/ws/notifications`.
 *
 * The agents service sends each change as `{"type": "run", id, at, run_id, agent_id,
 * agent_name, project_id, status, exit_reason, trigger, queued_at, started_at, finished_at,
 * duration_ms}` in the order they were committed, `id` rising; what became of an issue_resolver
 * run's draft pull request comes in the same order as `{"type": "delivery", ...the same fields,
 * delivery: {status: "opened" | "failed", number, url, error, github_status}}` (the run's status
 * unchanged: it is not a second completion). A fresh connection gets the
 * latest few first (history, not news), then `{"type": "ready", cursor}`, then each change as
 * it happens. After a dropped connection the feed reconnects with `?since=<last id kept>`:
 * the server replays every change after it (none lost), and an id already kept is dropped
 * (none twice). Connecting, retrying and renewing the token are `ResumableSocket`'s.
 */
import { ResumableSocket, type SocketOptions, socketUrl } from "@/lib/resumableSocket";

/** What became of a run's draft pull request. */
export interface DeliveryNotice {
  status: "opened" | "failed";
  number: number | null;
  url: string | null;
  error: string | null;
  githubStatus: number | null;
}

export interface RunChange {
  id: number;
  /** A status change, or a delivery (the run's status as it was, `delivery` set). */
  kind: "status" | "delivery";
  delivery: DeliveryNotice | null;
  at: string;
  run_id: string;
  agent_id: string;
  agent_name: string | null;
  project_id: string;
  status: string;
  exit_reason: string | null;
  queued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface RunFeedOptions extends SocketOptions {
  /**
   * Changes in commit order. `news` is false for the history a fresh connection starts with,
   * true for what happened since (including what a reconnection replays).
   */
  onChanges: (changes: RunChange[], news: boolean) => void;
  /** The stream is live (after each connection's replay): a moment to refetch what is shown. */
  onReady?: (reconnected: boolean) => void;
}

export function notificationsUrl(origin: string, since: number | null): string {
  return socketUrl(origin, `/ws/notifications${since === null ? "" : `?since=${since}`}`);
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function toDelivery(value: unknown): DeliveryNotice | null {
  if (!value || typeof value !== "object") return null;
  const notice = value as Record<string, unknown>;
  if (notice.status !== "opened" && notice.status !== "failed") return null;
  return {
    status: notice.status,
    number: typeof notice.number === "number" ? notice.number : null,
    url: text(notice.url),
    error: text(notice.error),
    githubStatus: typeof notice.github_status === "number" ? notice.github_status : null,
  };
}

export function toChange(message: Record<string, unknown>): RunChange | null {
  const id = Number(message.id);
  const runId = text(message.run_id);
  const status = text(message.status);
  if (!Number.isSafeInteger(id) || !runId || !status) return null;
  const delivery = message.type === "delivery" ? toDelivery(message.delivery) : null;
  if (message.type === "delivery" && !delivery) return null;
  return {
    id,
    kind: delivery ? "delivery" : "status",
    delivery,
    at: text(message.at) ?? "",
    run_id: runId,
    agent_id: text(message.agent_id) ?? "",
    agent_name: text(message.agent_name),
    project_id: text(message.project_id) ?? "",
    status,
    exit_reason: text(message.exit_reason),
    queued_at: text(message.queued_at),
    started_at: text(message.started_at),
    finished_at: text(message.finished_at),
    duration_ms: typeof message.duration_ms === "number" ? message.duration_ms : null,
  };
}

export class RunFeed extends ResumableSocket {
  /** The id of the last change kept; null until the first connection said where it stands. */
  cursor: number | null = null;
  private replaying = true;
  /** A connection has been live once: whatever comes after is news. */
  private live = false;
  private readonly options: RunFeedOptions;

  constructor(options: RunFeedOptions) {
    super(options);
    this.options = options;
  }

  protected url(): string {
    this.replaying = true;
    return notificationsUrl(this.origin, this.cursor);
  }

  protected receive(message: Record<string, unknown>): void {
    if (message.type === "run" || message.type === "delivery") {
      const change = toChange(message);
      // Kept already (a replay racing a live change): dropped by its id.
      if (!change || (this.cursor !== null && change.id <= this.cursor)) return;
      this.cursor = change.id;
      // History until the first connection is live; a reconnection replays what was missed.
      this.options.onChanges([change], this.live || !this.replaying);
    } else if (message.type === "ready") {
      const cursor = Number(message.cursor);
      if (Number.isSafeInteger(cursor)) this.cursor = Math.max(this.cursor ?? 0, cursor);
      this.replaying = false;
      const reconnected = this.live;
      this.live = true;
      this.resetBackoff();
      this.options.onReady?.(reconnected);
    }
  }
}
