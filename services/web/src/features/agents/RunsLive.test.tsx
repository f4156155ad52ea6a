/**
 * Runs as they change: the run page and a project's Runs tab follow the run notification feed
 * (no polling), the bell lists the changes and toasts a finished run, a queued run says why it
 * waits, and a finding shows its source lines as text.
 */
import { notifications } from "@mantine/notifications";
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket, renderApp } from "@/test/app";
import { me, OWNER, PROJECT, PROJECT_ID, TOKENS } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const RUN_ID = "44444444-4444-4444-4444-444444444444";
const AGENT_ID = "55555555-5555-5555-5555-555555555555";

function run(overrides: Record<string, unknown> = {}) {
  return {
    id: RUN_ID,
    agent_id: AGENT_ID,
    project_id: PROJECT_ID,
    agent_type: "code_analyzer",
    status: "pending",
    exit_reason: null,
    trigger: { kind: "api", ref: "trunk" },
    error: null,
    attempts: 0,
    cancel_requested: false,
    timeout_seconds: 900,
    queued_at: "2026-12-03T07:00:00Z",
    started_at: null,
    finished_at: null,
    duration_ms: null,
    result: null,
    queue: null,
    ...overrides,
  };
}

const AGENT = {
  id: AGENT_ID,
  project_id: PROJECT_ID,
  name: "analyzer",
  type: "code_analyzer",
  description: "",
  status: "active",
  config: {},
  created_by: OWNER,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

function change(id: number, status: string, extra: Record<string, unknown> = {}) {
  return {
    type: "run",
    id,
    at: "2026-12-03T07:01:00Z",
    run_id: RUN_ID,
    agent_id: AGENT_ID,
    agent_name: "analyzer",
    project_id: PROJECT_ID,
    status,
    exit_reason: null,
    trigger: { kind: "api", ref: "trunk" },
    queued_at: "2026-12-03T07:00:00Z",
    started_at: status === "pending" ? null : "2026-12-03T07:00:30Z",
    finished_at: status === "completed" || status === "failed" ? "2026-12-03T07:01:00Z" : null,
    duration_ms: status === "completed" || status === "failed" ? 30_000 : null,
    ...extra,
  };
}

function feed(): FakeWebSocket {
  const socket = FakeWebSocket.opened.find((s) => s.url.includes("/ws/notifications"));
  if (!socket) throw new Error("the notification feed is not connected");
  return socket;
}

async function liveFeed(): Promise<FakeWebSocket> {
  await waitFor(() => feed());
  const socket = feed();
  act(() => {
    socket.open();
    socket.send({ type: "ready", cursor: 0 });
  });
  return socket;
}

const BASE = (method: string, path: string): Response | undefined => {
  if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
  if (path === "/api/v1/auth/me") return jsonResponse(me(OWNER));
  if (path === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
  if (path === `/api/v1/agents/${AGENT_ID}` && method === "GET") return jsonResponse(AGENT);
  return undefined;
};

describe("runs as they change", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
  });

  it("test_the_run_page_shows_each_status_change_from_the_feed_without_polling", async () => {
    let current = run({ queue: { running: 5, limit: 5, at_capacity: true } });
    const { calls } = renderApp(`/runs/${RUN_ID}`, (method, path) => {
      if (path === `/api/v1/agents/runs/${RUN_ID}`) return jsonResponse(current);
      return BASE(method, path);
    });
    expect(await screen.findByText("Queued behind the project's other runs")).toBeInTheDocument();
    expect(screen.getByText(/already runs 5 of its at most 5 runs at once/)).toBeInTheDocument();
    const socket = await liveFeed();
    const reads = () => calls.filter((c) => c.path === `/api/v1/agents/runs/${RUN_ID}`).length;
    const before = reads();

    current = run({ status: "running", started_at: "2026-12-03T07:00:30Z", attempts: 1 });
    act(() => socket.send(change(1, "running")));
    await waitFor(() => expect(screen.getAllByText("Running").length).toBeGreaterThan(0));
    expect(screen.queryByText("Queued behind the project's other runs")).toBeNull();
    await waitFor(() => expect(reads()).toBe(before + 1));

    // Nothing is asked again while nothing changes: no polling.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reads()).toBe(before + 1);
    expect(calls.filter((c) => c.path.startsWith("/api/v1/agents/runs/")).length).toBe(reads());
  });

  it("test_a_finished_run_is_toasted_listed_under_the_bell_and_marked_read", async () => {
    renderApp("/projects", (method, path) => {
      if (path === "/api/v1/projects") {
        return jsonResponse({ items: [PROJECT], total: 1, limit: 20, offset: 0 });
      }
      return BASE(method, path);
    });
    await waitFor(() => feed());
    const socket = feed();
    act(() => {
      socket.open();
      // History first (no toast), then the feed is live.
      socket.send(change(1, "pending"));
      socket.send({ type: "ready", cursor: 1 });
    });
    expect(
      await screen.findByRole("button", { name: "Notifications, 1 unread" }),
    ).toBeInTheDocument();
    expect(screen.queryByText("Run of analyzer queued")).toBeNull();

    act(() => socket.send(change(2, "completed")));
    // The toast, with a way to the run.
    const toast = await screen.findByText("Run of analyzer completed");
    expect(toast).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Notifications, 2 unread" }));
    const list = await screen.findByRole("list", { name: "Latest run changes" });
    const markRead = await screen.findByRole("button", { name: "Mark all as read" });
    const items = [...list.querySelectorAll("li")];
    expect(items).toHaveLength(2);
    const newest = items[0] as HTMLElement;
    const link = within(newest).getByText("Run of analyzer completed").closest("a");
    expect(link).toHaveAttribute("href", `/runs/${RUN_ID}`);
    expect(await within(newest).findByText(/in Demo/)).toBeInTheDocument();
    await user.click(markRead);
    expect(await screen.findByRole("button", { name: "Notifications" })).toBeInTheDocument();
    expect(localStorage.getItem(`swe.notifications.read.${OWNER}`)).toBe("2");
  });

  it("test_a_projects_runs_tab_lists_filters_in_the_url_and_follows_the_feed", async () => {
    let status = "running";
    const { calls, router } = renderApp(`/projects/${PROJECT_ID}/runs`, (method, path) => {
      if (path === `/api/v1/agents/projects/${PROJECT_ID}/runs`) {
        return jsonResponse({
          items: [
            {
              ...run({ status, started_at: "2026-12-03T07:00:30Z" }),
              agent_name: "analyzer",
              score: status === "completed" ? 87.5 : null,
              duration_ms: status === "completed" ? 61_000 : null,
            },
          ],
          total: 1,
          limit: 20,
          offset: 0,
        });
      }
      if (path === "/api/v1/agents") {
        return jsonResponse({ items: [AGENT], total: 1, limit: 20, offset: 0 });
      }
      return BASE(method, path);
    });
    const table = await screen.findByRole("table");
    expect(within(table).getByRole("link", { name: "analyzer" })).toHaveAttribute(
      "href",
      `/agents/${AGENT_ID}`,
    );
    expect(within(table).getByText("Running")).toBeInTheDocument();
    const socket = await liveFeed();
    status = "completed";
    act(() => socket.send(change(3, "completed")));
    expect(await within(table).findByText("87.5")).toBeInTheDocument();
    expect(within(table).getByText("1 min 1 s")).toBeInTheDocument();

    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Status"), "failed");
    await waitFor(() => expect(router.state.location.search).toEqual({ status: "failed" }));
    await user.selectOptions(screen.getByLabelText("Agent"), AGENT_ID);
    await waitFor(() =>
      expect(
        calls.some(
          (c) =>
            c.path.startsWith(`/api/v1/agents/projects/${PROJECT_ID}/runs?`) &&
            c.path.includes("status=failed") &&
            c.path.includes(`agent_id=${AGENT_ID}`),
        ),
      ).toBe(true),
    );
  });

  it("test_a_findings_source_lines_show_as_text_with_its_line_marked", async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const finding = {
      tool: "bandit",
      rule: "B307",
      severity: "high",
      message: "Use of possibly insecure function - consider using safer ast.literal_eval.",
      path: "app/defects.py",
      line: 12,
    };
    const completed = run({
      status: "completed",
      result: { findings: [finding], quality: { score: 60, rating: "C" } },
    });
    const { calls } = renderApp(`/runs/${RUN_ID}`, (method, path) => {
      if (path === `/api/v1/agents/runs/${RUN_ID}`) return jsonResponse(completed);
      if (path === `/api/v1/agents/runs/${RUN_ID}/report`) {
        return jsonResponse({ run: completed, result: completed.result });
      }
      if (path === `/api/v1/agents/runs/${RUN_ID}/source`) {
        return jsonResponse({
          run_id: RUN_ID,
          path: "app/defects.py",
          line: 12,
          start_line: 7,
          end_line: 17,
          lines: Array.from({ length: 11 }, (_, i) => ({
            number: 7 + i,
            text: 7 + i === 12 ? `    return eval(expr)  # ${hostile}` : `line ${7 + i}`,
            truncated: false,
          })),
        });
      }
      return BASE(method, path);
    });
    const user = userEvent.setup();
    const show = await screen.findByRole("button", {
      name: "Source of app/defects.py:12",
    });
    expect(show).toHaveAttribute("aria-expanded", "false");
    await user.click(show);
    const source = await screen.findByRole("region", { name: "app/defects.py source" });
    expect(
      calls.find((c) => c.path.startsWith(`/api/v1/agents/runs/${RUN_ID}/source?`))?.path,
    ).toBe(`/api/v1/agents/runs/${RUN_ID}/source?path=app%2Fdefects.py&line=12`);
    const marked = source.querySelector("[data-current]");
    expect(marked?.getAttribute("data-line")).toBe("12");
    expect(marked?.textContent).toContain(hostile);
    expect(source.querySelector("img")).toBeNull();
    expect(source.querySelectorAll("[data-line]")).toHaveLength(11);
    expect(
      screen.getByRole("button", { name: "Hide source of app/defects.py:12" }),
    ).toHaveAttribute("aria-expanded", "true");
  });

  it("test_a_finding_without_kept_source_says_so", async () => {
    const completed = run({
      status: "completed",
      result: {
        findings: [
          { tool: "ruff", rule: "F401", severity: "low", message: "unused", path: "a.py", line: 1 },
        ],
      },
    });
    renderApp(`/runs/${RUN_ID}`, (method, path) => {
      if (path === `/api/v1/agents/runs/${RUN_ID}`) return jsonResponse(completed);
      if (path === `/api/v1/agents/runs/${RUN_ID}/report`) {
        return jsonResponse({ run: completed, result: completed.result });
      }
      if (path === `/api/v1/agents/runs/${RUN_ID}/source`) {
        return problemResponse(404, { detail: "kept no source lines", request_id: "r" });
      }
      return BASE(method, path);
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Source of a.py:1" }));
    expect(
      await screen.findByText("No source lines were kept for this finding."),
    ).toBeInTheDocument();
  });
});

describe("a resolver run's delivery as it happens", () => {
  // The toasts live in one store for the whole file: an earlier test's (10 s each) would hold
  // the visible places and queue this test's.
  beforeEach(() => act(() => notifications.clean()));
  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
  });

  const REQUEST = {
    status: "requested",
    branch: "agent/issue-1234abcd-44444444",
    base_ref: "trunk",
    base_commit: "b".repeat(40),
    title: "Resolve: Add subtraction",
  };

  function resolverRun(pullRequest: Record<string, unknown>) {
    return run({
      agent_type: "issue_resolver",
      status: "completed",
      started_at: "2026-12-03T07:00:30Z",
      finished_at: "2026-12-03T07:01:00Z",
      duration_ms: 30_000,
      attempts: 1,
      result: {
        resolved: true,
        summary: "patch on branch agent/issue-1234abcd-44444444",
        branch: REQUEST.branch,
        evidence: { fail_to_pass: ["tests/test_repro.py::test_sub"], pass_to_pass: [] },
        pull_request: pullRequest,
      },
    });
  }

  function delivery(id: number, notice: Record<string, unknown>) {
    return change(id, "completed", {
      type: "delivery",
      agent_name: "resolver",
      kind: "delivery",
      delivery: notice,
    });
  }

  async function openResolvedRun() {
    let current = resolverRun(REQUEST);
    const { calls } = renderApp(`/runs/${RUN_ID}`, (method, path) => {
      if (path === `/api/v1/agents/runs/${RUN_ID}`) return jsonResponse(current);
      if (path === `/api/v1/agents/runs/${RUN_ID}/report`) {
        return jsonResponse({ run: current, result: current.result });
      }
      return BASE(method, path);
    });
    const section = await screen.findByRole("region", { name: "Resolution" });
    expect(within(section).getByText(/Requested: the issues service opens it/)).toBeInTheDocument();
    const socket = await liveFeed();
    const reads = () => calls.filter((c) => c.path === `/api/v1/agents/runs/${RUN_ID}`).length;
    return {
      section,
      socket,
      reads,
      answer: (pullRequest: Record<string, unknown>) => {
        current = resolverRun({ ...REQUEST, ...pullRequest });
      },
    };
  }

  it("test_an_opened_pull_request_shows_on_the_run_page_with_one_toast_of_its_own", async () => {
    const { section, socket, reads, answer } = await openResolvedRun();
    const before = reads();
    const url = "https://github.com/acme/widgets/pull/17";
    answer({ status: "opened", number: 17, url, error: null, github_status: null });
    act(() =>
      socket.send(
        delivery(2, { status: "opened", number: 17, url, error: null, github_status: null }),
      ),
    );

    const link = await within(section).findByRole("link", { name: "Draft pull request #17" });
    expect(link).toHaveAttribute("href", url);
    expect(within(section).queryByText(/Requested: the issues service opens it/)).toBeNull();
    expect(reads()).toBe(before + 1);
    expect(await screen.findByText("Draft pull request #17 opened")).toBeInTheDocument();
    // The run did not complete again: no second completion toast, its status as it was.
    expect(screen.queryByText(/Run of resolver completed/)).toBeNull();
    expect(screen.getAllByText("Completed").length).toBeGreaterThan(0);
    expect(
      await screen.findByRole("button", { name: "Notifications, 1 unread" }),
    ).toBeInTheDocument();
  });

  it("test_a_refused_delivery_shows_its_reason_on_the_run_page_and_in_a_red_toast", async () => {
    const { section, socket, answer } = await openResolvedRun();
    const reason =
      "GitHub answered 403 to POST /repos/acme/widgets/git/refs: Resource not accessible by integration";
    answer({ status: "failed", number: null, url: null, error: reason, github_status: 403 });
    act(() =>
      socket.send(
        delivery(3, {
          status: "failed",
          number: null,
          url: null,
          error: reason,
          github_status: 403,
        }),
      ),
    );

    expect(
      await within(section).findByText("The draft pull request was not opened"),
    ).toBeInTheDocument();
    expect(within(section).getByText(reason)).toBeInTheDocument();
    // The reason names GitHub's status already: not said twice.
    expect(within(section).queryByText("GitHub answered 403.")).toBeNull();
    expect(within(section).queryByRole("link", { name: /Draft pull request/ })).toBeNull();
    expect(await screen.findByText(`Delivery failed: ${reason}`)).toBeInTheDocument();
    expect(screen.queryByText(/Run of resolver completed/)).toBeNull();
  });
});
