/**
 * A WebSocket to the agents service through the gateway that resumes where it left off: the
 * one connection logic behind the live log (`liveLog.ts`) and the run notifications
 * (`runFeed.ts`).
 *
 * - The token goes as a subprotocol (`["swe.v1", "bearer.<token>"]`), never in the URL; it is
 *   read at each connection (it may have been renewed).
 * - A dropped connection is retried after 0.5 s, doubling to 10 s; a subclass says when
 *   messages flow again (`resetBackoff`), so the next drop starts over with a short delay.
 * - A 4401 close (expired or revoked credentials) renews the token once and reconnects at
 *   once; a second 4401 in a row, or a failed renewal, ends with "sign in again".
 * - A 4404 close (the resource is not there, or not the caller's) stops for good.
 * - Each connection asks the subclass for its URL, which carries the cursor to resume after.
 */

export type LiveState = "connecting" | "open" | "reconnecting" | "ended" | "failed";

/** What a resumable socket needs of a WebSocket (a fake one in tests). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export interface SocketOptions {
  /** The current access token (read at each connection: it may have been renewed). */
  token: () => string | null;
  onState?: (state: LiveState, detail?: string) => void;
  /** Asked after a 4401 close: true when a new access token is there to retry with. */
  renewToken?: () => Promise<boolean>;
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

const SIGN_IN_AGAIN = "The session has ended: sign in again.";

const defaultSocket: SocketFactory = (url, protocols) =>
  new WebSocket(url, protocols) as unknown as SocketLike;

const defaultSchedule = (run: () => void, ms: number) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

/** ws(s)://<origin><path>: the page's origin with its scheme turned into a WebSocket one. */
export function socketUrl(origin: string, path: string): string {
  return `${origin.replace(/^http/, "ws")}${path}`;
}

export function parseMessage(data: unknown): Record<string, unknown> | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export abstract class ResumableSocket {
  private socket: SocketLike | null = null;
  private stopped = false;
  /** Set by a subclass when the stream has said its last word: no reconnection follows. */
  protected ended = false;
  private delay: number;
  private cancelRetry: (() => void) | null = null;
  private renewing = false;
  /** Token renewals since messages last flowed: a second 4401 in a row gives up. */
  private renewals = 0;
  protected readonly origin: string;
  private readonly settings: Required<
    Pick<SocketOptions, "createSocket" | "schedule" | "minDelayMs" | "maxDelayMs">
  > &
    SocketOptions;

  constructor(options: SocketOptions) {
    this.settings = {
      createSocket: defaultSocket,
      schedule: defaultSchedule,
      minDelayMs: 500,
      maxDelayMs: 10_000,
      ...options,
    };
    this.origin =
      options.origin ?? (typeof location !== "undefined" ? location.origin : "http://localhost");
    this.delay = this.settings.minDelayMs;
  }

  /** The URL of the next connection (with the cursor to resume after). */
  protected abstract url(): string;
  /** One message of the current connection. */
  protected abstract receive(message: Record<string, unknown>): void;
  /** What a 4404 close means to the user. */
  protected notFoundText = "Not found.";

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

  /** Messages are flowing again: the next drop is retried soon, a 4401 renews again. */
  protected resetBackoff(): void {
    this.delay = this.settings.minDelayMs;
    this.renewals = 0;
  }

  protected setState(state: LiveState, detail?: string): void {
    this.settings.onState?.(state, detail);
  }

  private connect(state: LiveState): void {
    if (this.stopped || this.ended) return;
    this.setState(state);
    const token = this.settings.token();
    const protocols = token ? ["swe.v1", `bearer.${token}`] : ["swe.v1"];
    const socket = this.settings.createSocket(this.url(), protocols);
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket === socket) this.setState("open");
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      const message = parseMessage(event.data);
      if (message) this.receive(message);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.closed(event.code, event.reason);
    };
  }

  private closed(code: number, reason?: string): void {
    if (this.stopped || this.ended) return;
    if (code === CLOSE_NOT_FOUND) {
      this.setState("failed", reason || this.notFoundText);
      return;
    }
    if (code === CLOSE_UNAUTHORIZED) {
      this.unauthorized();
      return;
    }
    this.retry();
  }

  private unauthorized(): void {
    if (!this.settings.renewToken || this.renewals >= 2) {
      this.setState("failed", SIGN_IN_AGAIN);
      return;
    }
    if (this.renewing) return;
    this.renewals += 1;
    // The access token expired or was revoked: one renewal, then try again at once.
    this.renewing = true;
    this.setState("reconnecting");
    this.settings.renewToken().then(
      (renewed) => {
        this.renewing = false;
        if (renewed) this.connect("reconnecting");
        else this.setState("failed", SIGN_IN_AGAIN);
      },
      () => {
        this.renewing = false;
        this.retry();
      },
    );
  }

  private retry(): void {
    this.setState("reconnecting");
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.settings.maxDelayMs);
    this.cancelRetry = this.settings.schedule(() => {
      this.cancelRetry = null;
      this.connect("reconnecting");
    }, delay);
  }
}
