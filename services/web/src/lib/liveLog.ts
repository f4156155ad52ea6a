/**
 * A run's live log over the gateway's WebSocket (`/ws/logs/{run_id}?since=N`).
 *
 * The agents service replays every stored line after `since`, then follows new ones, each
 * `{"type": "log", seq, at, level, message, fields}`, and ends with
 * `{"type": "end", status, last_seq}` once the run is finished. Sequence numbers are the
 * run's own (1, 2, 3...), so after a dropped connection the client reconnects with
 * `since` = the last line it kept: nothing is lost, and a line seen twice (a replay racing a
 * live notification) is dropped by its number.
 *
 * The token goes as a subprotocol (`["swe.v1", "bearer.<token>"]`), never in the URL.
 */

export interface LogLine {
  seq: number;
  at: string;
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export type LiveState = "connecting" | "open" | "reconnecting" | "ended" | "failed";

/** What LiveLog needs of a WebSocket (a fake one in tests). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export interface LiveLogOptions {
  runId: string;
  /** The current access token (read at each connection: it may have been renewed). */
  token: () => string | null;
  onLines: (lines: LogLine[]) => void;
  onEnd: (status: string, lastSeq: number) => void;
  onState?: (state: LiveState, detail?: string) => void;
  /** Asked after a 4401 close: true when a new access token is there to retry with. */
  renewToken?: () => Promise<boolean>;
  /** Lines already shown (e.g. kept from an earlier page): the stream starts after it. */
  since?: number;
  origin?: string;
  createSocket?: SocketFactory;
  /** setTimeout by default; tests run the retries by hand. */
  schedule?: (run: () => void, ms: number) => () => void;
  /** The retry delays, doubling from the first up to the last. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Close codes the agents service and the gateway use. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_NOT_FOUND = 4404;

const defaultSocket: SocketFactory = (url, protocols) =>
  new WebSocket(url, protocols) as unknown as SocketLike;

const defaultSchedule = (run: () => void, ms: number) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

export function logsUrl(origin: string, runId: string, since: number): string {
  const base = origin.replace(/^http/, "ws");
  return `${base}/ws/logs/${encodeURIComponent(runId)}?since=${since}`;
}

function parse(data: unknown): Record<string, unknown> | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export class LiveLog {
  /** The highest sequence number kept so far. */
  last: number;
  private socket: SocketLike | null = null;
  private stopped = false;
  private ended = false;
  private delay: number;
  private cancelRetry: (() => void) | null = null;
  private renewing = false;
  /** Token renewals since the last line: a second 4401 in a row ends the stream. */
  private renewals = 0;
  private readonly options: Required<
    Pick<LiveLogOptions, "createSocket" | "schedule" | "minDelayMs" | "maxDelayMs" | "origin">
  > &
    LiveLogOptions;

  constructor(options: LiveLogOptions) {
    this.options = {
      createSocket: defaultSocket,
      schedule: defaultSchedule,
      minDelayMs: 500,
      maxDelayMs: 10_000,
      origin: typeof location !== "undefined" ? location.origin : "http://localhost",
      ...options,
    };
    this.last = options.since ?? 0;
    this.delay = this.options.minDelayMs;
  }

  start(): void {
    this.stopped = false;
    this.connect("connecting");
  }

  /** Stop for good (the page is left); no retry follows. */
  stop(): void {
    this.stopped = true;
    this.cancelRetry?.();
    this.cancelRetry = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000, "left the page");
    }
  }

  private setState(state: LiveState, detail?: string): void {
    this.options.onState?.(state, detail);
  }

  private connect(state: LiveState): void {
    if (this.stopped || this.ended) return;
    this.setState(state);
    const token = this.options.token();
    const protocols = token ? ["swe.v1", `bearer.${token}`] : ["swe.v1"];
    const socket = this.options.createSocket(
      logsUrl(this.options.origin, this.options.runId, this.last),
      protocols,
    );
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket === socket) this.setState("open");
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.closed(event.code, event.reason);
    };
  }

  private receive(data: unknown): void {
    const message = parse(data);
    if (!message) return;
    if (message.type === "log") {
      const seq = Number(message.seq);
      // A line already kept (a replay after a reconnect, or twice from the server): dropped.
      if (!Number.isInteger(seq) || seq <= this.last) return;
      this.last = seq;
      // Lines flowing again: the next drop starts over with a short delay.
      this.delay = this.options.minDelayMs;
      this.renewals = 0;
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

  private closed(code: number, reason?: string): void {
    if (this.stopped || this.ended) return;
    if (code === CLOSE_NOT_FOUND) {
      this.setState("failed", reason || "The run was not found.");
      return;
    }
    if (code === CLOSE_UNAUTHORIZED) {
      if (!this.options.renewToken || this.renewals >= 2) {
        this.setState("failed", "The session has ended: sign in again.");
        return;
      }
      if (this.renewing) return;
      this.renewals += 1;
      // The access token expired or was revoked: one renewal, then try again at once.
      this.renewing = true;
      this.setState("reconnecting");
      this.options.renewToken().then(
        (renewed) => {
          this.renewing = false;
          if (renewed) this.connect("reconnecting");
          else this.setState("failed", "The session has ended: sign in again.");
        },
        () => {
          this.renewing = false;
          this.retry();
        },
      );
      return;
    }
    this.retry();
  }

  private retry(): void {
    this.setState("reconnecting");
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.options.maxDelayMs);
    this.cancelRetry = this.options.schedule(() => {
      this.cancelRetry = null;
      this.connect("reconnecting");
    }, delay);
  }
}
