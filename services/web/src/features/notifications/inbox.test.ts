import { describe, expect, it } from "vitest";
import {
  addChanges,
  describeChange,
  deservesToast,
  INBOX_SIZE,
  isBadNews,
  loadReadMark,
  saveReadMark,
  unreadCount,
} from "@/features/notifications/inbox";
import type { RunChange } from "@/lib/runFeed";

function change(id: number, status = "completed", extra: Partial<RunChange> = {}): RunChange {
  return {
    id,
    kind: "status",
    delivery: null,
    at: "2026-12-03T07:00:00Z",
    run_id: `run-${id}`,
    agent_id: "a",
    agent_name: "analyzer",
    project_id: "p",
    status,
    exit_reason: null,
    queued_at: null,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    ...extra,
  };
}

describe("the notifications list", () => {
  it("test_newest_first_each_once_and_bounded", () => {
    let inbox = addChanges([], [change(1), change(2)]);
    inbox = addChanges(inbox, [change(2), change(3)]);
    expect(inbox.map((c) => c.id)).toEqual([3, 2, 1]);
    const many = Array.from({ length: INBOX_SIZE + 10 }, (_, i) => change(i + 10));
    expect(addChanges(inbox, many)).toHaveLength(INBOX_SIZE);
    expect(addChanges(inbox, many)[0]?.id).toBe(INBOX_SIZE + 19);
  });

  it("test_unread_are_those_after_the_read_mark_kept_per_user", () => {
    const inbox = addChanges([], [change(4), change(7), change(9)]);
    expect(unreadCount(inbox, 0)).toBe(3);
    expect(unreadCount(inbox, 7)).toBe(1);
    saveReadMark("user-1", 7);
    expect(loadReadMark("user-1")).toBe(7);
    expect(loadReadMark("user-2")).toBe(0);
  });

  it("test_says_what_happened_and_toasts_only_the_ends", () => {
    expect(describeChange(change(1, "failed", { exit_reason: "timeout" }))).toBe(
      "Run of analyzer failed (timeout)",
    );
    expect(describeChange(change(1, "pending", { agent_name: null }))).toBe(
      "Run of an agent queued",
    );
    expect(deservesToast(change(1, "completed"))).toBe(true);
    expect(deservesToast(change(1, "failed"))).toBe(true);
    expect(deservesToast(change(1, "running"))).toBe(false);
  });

  it("test_a_delivery_says_what_became_of_the_pull_request_not_that_the_run_completed", () => {
    const opened = change(2, "completed", {
      kind: "delivery",
      delivery: { status: "opened", number: 17, url: "u", error: null, githubStatus: null },
    });
    const refused = change(3, "completed", {
      kind: "delivery",
      delivery: { status: "failed", number: null, url: null, error: "403: no", githubStatus: 403 },
    });
    expect(describeChange(opened)).toBe("Draft pull request #17 opened");
    expect(describeChange(refused)).toBe("Delivery failed: 403: no");
    expect([deservesToast(opened), deservesToast(refused)]).toEqual([true, true]);
    expect([isBadNews(opened), isBadNews(refused), isBadNews(change(4))]).toEqual([
      false,
      true,
      false,
    ]);
  });
});
