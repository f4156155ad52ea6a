import { describe, expect, it } from "vitest";
import { LiveLog, type LogLine, logsUrl, type SocketLike } from "@/lib/liveLog";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closedWith: number | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}
  open() {
    this.onopen?.({});
  }
  line(seq: number, message = `line ${seq}`) {
    this.onmessage?.({
      data: JSON.stringify({
        type: "log",
        seq,
        at: "2026-01-01T00:00:00Z",
        level: "info",
        message,
        fields: {},
      }),
    });
  }
  end(status: string, lastSeq: number) {
    this.onmessage?.({ data: JSON.stringify({ type: "end", status, last_seq: lastSeq }) });
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
  close(code?: number) {
    this.closedWith = code ?? 1000;
  }
}

function setup(options: { since?: number; renewToken?: () => Promise<boolean> } = {}) {
  const sockets: FakeSocket[] = [];
  const lines: LogLine[] = [];
  const states: string[] = [];
  const retries: { run: () => void; ms: number }[] = [];
  let ended: { status: string; lastSeq: number } | null = null;
  let token = "tok-1";
  const live = new LiveLog({
    runId: "run-1",
    origin: "https://console.example",
    token: () => token,
    since: options.since,
    renewToken: options.renewToken,
    onLines: (batch) => lines.push(...batch),
    onEnd: (status, lastSeq) => {
      ended = { status, lastSeq };
    },
    onState: (state) => states.push(state),
    createSocket: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    schedule: (run, ms) => {
      const entry = { run, ms };
      retries.push(entry);
      return () => {
        retries.splice(retries.indexOf(entry), 1);
      };
    },
  });
  return {
    live,
    sockets,
    lines,
    states,
    retries,
    ended: () => ended,
    setToken: (next: string) => {
      token = next;
    },
    runRetry: () => retries.shift()?.run(),
    socket: (index: number) => {
      const socket = sockets.at(index);
      if (!socket) throw new Error(`no socket ${index}`);
      return socket;
    },
  };
}

describe("LiveLog", () => {
  it("connects with the token as a subprotocol, never in the URL", () => {
    const t = setup();
    t.live.start();
    expect(t.socket(0).url).toBe("wss://console.example/ws/logs/run-1?since=0");
    expect(t.socket(0).protocols).toEqual(["swe.v1", "bearer.tok-1"]);
    expect(t.socket(0).url).not.toContain("tok-1");
    expect(logsUrl("http://localhost:8000", "r", 5)).toBe("ws://localhost:8000/ws/logs/r?since=5");
  });

  it("resumes after a dropped connection from the last line kept: none lost, none twice", () => {
    const t = setup();
    t.live.start();
    t.socket(0).open();
    for (const seq of [1, 2, 3]) t.socket(0).line(seq);
    t.socket(0).drop();
    expect(t.states.at(-1)).toBe("reconnecting");
    expect(t.retries).toHaveLength(1);
    t.runRetry();
    const second = t.socket(1);
    expect(second.url).toBe("wss://console.example/ws/logs/run-1?since=3");
    second.open();
    // The server replays from the table and a live notification repeats line 3 and 4.
    for (const seq of [3, 4, 4, 5]) second.line(seq);
    second.end("completed", 5);
    expect(t.lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(t.ended()).toEqual({ status: "completed", lastSeq: 5 });
    expect(t.states.at(-1)).toBe("ended");
    // The server closes after "end": no reconnection follows.
    second.drop(1000);
    expect(t.retries).toHaveLength(0);
  });

  it("starts after lines already shown and ignores a stale socket's messages", () => {
    const t = setup({ since: 10 });
    t.live.start();
    expect(t.socket(0).url).toContain("since=10");
    t.socket(0).line(9);
    t.socket(0).line(11);
    t.socket(0).drop();
    t.runRetry();
    // A late message from the dropped socket changes nothing.
    t.socket(0).line(12);
    expect(t.lines.map((l) => l.seq)).toEqual([11]);
    expect(t.socket(1).url).toContain("since=11");
  });

  it("backs off while the connection keeps failing, and starts over once lines flow", () => {
    const t = setup();
    t.live.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      t.socket(-1).drop();
      delays.push(t.retries[0]?.ms ?? -1);
      t.runRetry();
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
    t.socket(-1).line(1);
    t.socket(-1).drop();
    expect(t.retries[0]?.ms).toBe(500);
  });

  it("renews the token after a 4401 and reconnects with the new one", async () => {
    let renewals = 0;
    const t = setup({
      renewToken: async () => {
        renewals += 1;
        t.setToken("tok-2");
        return true;
      },
    });
    t.live.start();
    t.socket(0).line(1);
    t.socket(0).drop(4401);
    await Promise.resolve();
    await Promise.resolve();
    expect(renewals).toBe(1);
    expect(t.socket(1).protocols).toEqual(["swe.v1", "bearer.tok-2"]);
    expect(t.socket(1).url).toContain("since=1");
  });

  it("gives up on a run that is not found, and after stop()", () => {
    const t = setup();
    t.live.start();
    t.socket(0).drop(4404);
    expect(t.states.at(-1)).toBe("failed");
    expect(t.retries).toHaveLength(0);

    const u = setup();
    u.live.start();
    u.live.stop();
    expect(u.socket(0).closedWith).toBe(1000);
    u.socket(0).drop();
    expect(u.retries).toHaveLength(0);
  });

  it("skips messages that are not JSON objects", () => {
    const t = setup();
    t.live.start();
    t.socket(0).onmessage?.({ data: "not json" });
    t.socket(0).onmessage?.({ data: JSON.stringify({ type: "log", seq: "x" }) });
    t.socket(0).line(1);
    expect(t.lines.map((l) => l.seq)).toEqual([1]);
  });
});
