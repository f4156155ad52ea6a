import { describe, expect, it } from "vitest";
import type { SocketLike } from "@/lib/resumableSocket";
import { notificationsUrl, type RunChange, RunFeed } from "@/lib/runFeed";

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}
  send(message: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  change(id: number, status: string, runId = "run-1") {
    this.send({
      type: "run",
      id,
      at: "2026-12-03T07:00:00Z",
      run_id: runId,
      agent_id: "agent-1",
      agent_name: "analyzer",
      project_id: "project-1",
      status,
      exit_reason: null,
      duration_ms: status === "completed" ? 1200 : null,
    });
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
  close() {}
}

function at<T>(items: T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`nothing at ${index}`);
  return item;
}

function setup() {
  const sockets: FakeSocket[] = [];
  const received: { change: RunChange; news: boolean }[] = [];
  const readies: boolean[] = [];
  const retries: (() => void)[] = [];
  const feed = new RunFeed({
    origin: "https://console.example",
    token: () => "tok-1",
    onChanges: (changes, news) => {
      for (const change of changes) received.push({ change, news });
    },
    onReady: (reconnected) => readies.push(reconnected),
    createSocket: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    schedule: (run) => {
      retries.push(run);
      return () => {};
    },
  });
  feed.start();
  return { feed, sockets, received, readies, retries };
}

describe("the run notification feed", () => {
  it("test_connects_without_a_cursor_and_the_token_only_as_a_subprotocol", () => {
    const t = setup();
    expect(at(t.sockets, 0).url).toBe("wss://console.example/ws/notifications");
    expect(at(t.sockets, 0).protocols).toEqual(["swe.v1", "bearer.tok-1"]);
    expect(notificationsUrl("http://localhost:8000", 42)).toBe(
      "ws://localhost:8000/ws/notifications?since=42",
    );
  });

  it("test_the_first_replay_is_history_and_what_follows_is_news", () => {
    const t = setup();
    at(t.sockets, 0).change(3, "completed", "old-run");
    at(t.sockets, 0).send({ type: "ready", cursor: 5 });
    at(t.sockets, 0).change(6, "pending");
    expect(t.received.map((r) => [r.change.id, r.news])).toEqual([
      [3, false],
      [6, true],
    ]);
    expect(t.readies).toEqual([false]);
    expect(t.feed.cursor).toBe(6);
  });

  it("test_resumes_after_a_drop_from_the_last_change_kept_none_lost_none_twice", () => {
    const t = setup();
    at(t.sockets, 0).send({ type: "ready", cursor: 10 });
    at(t.sockets, 0).change(11, "pending");
    at(t.sockets, 0).change(12, "running");
    at(t.sockets, 0).drop();
    expect(t.retries).toHaveLength(1);
    at(t.retries, 0)();
    const second = at(t.sockets, 1);
    expect(second.url).toBe("wss://console.example/ws/notifications?since=12");
    // The server replays after 12; a repeat of 12 (a replay racing a live change) is dropped.
    second.change(12, "running");
    second.change(13, "completed");
    second.send({ type: "ready", cursor: 13 });
    expect(t.received.map((r) => [r.change.id, r.change.status, r.news])).toEqual([
      [11, "pending", true],
      [12, "running", true],
      [13, "completed", true],
    ]);
    // The page reads its runs again once the feed is live again.
    expect(t.readies).toEqual([false, true]);
  });

  it("test_ignores_unreadable_messages", () => {
    const t = setup();
    at(t.sockets, 0).onmessage?.({ data: "not json" });
    at(t.sockets, 0).send({ type: "run", id: "x", run_id: "r", status: "running" });
    at(t.sockets, 0).send({ type: "run", id: 4 });
    expect(t.received).toEqual([]);
  });
});
