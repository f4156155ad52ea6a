/**
 * A run's live log over the gateway's WebSocket (`/ws/logs/{run_id}?since=N`).
 *
 * The agents service replays every stored line after `since`, then follows new ones, each
 * `{"type": "log", seq, at, level, message, fields}`, and ends with
 * `{"type": "end", status, last_seq}` once the run is finished. Sequence numbers are the
 * run's own (1, 2, 3...), so after a dropped connection the client reconnects with
 * `since` = the last line it kept: nothing is lost, and a line seen twice (a replay racing a
 * live notification) is dropped by its number. Connecting, retrying and renewing the token
 * are `ResumableSocket`'s.
 */
import {
  type LiveState,
  ResumableSocket,
  type SocketLike,
  type SocketOptions,
  socketUrl,
} from "@/lib/resumableSocket";

export { CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED } from "@/lib/resumableSocket";
export type { LiveState, SocketLike };

export interface LogLine {
  seq: number;
  at: string;
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface LiveLogOptions extends SocketOptions {
  runId: string;
  onLines: (lines: LogLine[]) => void;
  onEnd: (status: string, lastSeq: number) => void;
  /** Lines already shown (e.g. kept from an earlier page): the stream starts after it. */
  since?: number;
}

export function logsUrl(origin: string, runId: string, since: number): string {
  return socketUrl(origin, `/ws/logs/${encodeURIComponent(runId)}?since=${since}`);
}

export class LiveLog extends ResumableSocket {
  /** The highest sequence number kept so far. */
  last: number;
  private readonly options: LiveLogOptions;
  protected override notFoundText = "The run was not found.";

  constructor(options: LiveLogOptions) {
    super(options);
    this.options = options;
    this.last = options.since ?? 0;
  }

  protected url(): string {
    return logsUrl(this.origin, this.options.runId, this.last);
  }

  protected receive(message: Record<string, unknown>): void {
    if (message.type === "log") {
      const seq = Number(message.seq);
      // A line already kept (a replay after a reconnect, or twice from the server): dropped.
      if (!Number.isInteger(seq) || seq <= this.last) return;
      this.last = seq;
      this.resetBackoff();
      this.options.onLines([
        {
          seq,
          at: String(message.at ?? ""),
          level: String(message.level ?? "info"),
          message: String(message.message ?? ""),
          fields: (message.fields as Record<string, unknown>) ?? {},
        },
      ]);
    } else if (message.type === "end") {
      this.ended = true;
      this.setState("ended");
      this.options.onEnd(String(message.status ?? ""), Number(message.last_seq ?? this.last));
    }
  }
}
