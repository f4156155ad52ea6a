/**
 * An issue_resolver run's page says what it delivered: resolved with its draft pull request
 * linked, no candidate passed and why, a delivery that failed; the patch shows as text.
 */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { me, OWNER, PROJECT, PROJECT_ID, TOKENS } from "@/test/data";
import { jsonResponse } from "@/test/render";

const RUN_ID = "44444444-4444-4444-4444-444444444444";
const AGENT_ID = "55555555-5555-5555-5555-555555555555";
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

const AGENT = {
  id: AGENT_ID,
  project_id: PROJECT_ID,
  name: "resolver",
  type: "issue_resolver",
  description: "",
  status: "active",
  config: {},
  created_by: OWNER,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

const DIFF = [
  "diff --git a/app/calc.py b/app/calc.py",
  "index 1111111..2222222 100644",
  "--- a/app/calc.py",
  "+++ b/app/calc.py",
  "@@ -10,2 +10,2 @@ def div(a, b):",
  "-    return 0",
  `+    raise ZeroDivisionError("${HOSTILE}")`,
  "     # end",
  "",
].join("\n");

const PASSING = Array.from({ length: 8 }, (_, i) => `tests/test_calc.py::test_keep_${i}`);

function resolved(pullRequest: Record<string, unknown> | undefined) {
  return {
    summary:
      "patch on branch swe/issue-7: 1 file changed; 1 reproduction test failing before and passing after, 8 regression tests still passing; candidate 0 of 2 (agreed by 2)",
    resolved: true,
    passed: true,
    branch: "swe/issue-7",
    base_commit: "b".repeat(40),
    commit: "c".repeat(40),
    head_sha: "c".repeat(40),
    diff: DIFF,
    patch: DIFF,
    diff_stats: { files: 1, added_lines: 1 },
    evidence: {
      fail_to_pass: ["tests/test_repro.py::test_div_by_zero_raises"],
      pass_to_pass: PASSING,
      candidate: 0,
    },
    candidates: [],
    score_change: { before: 70, after: 72.5, delta: 2.5 },
    findings: [],
    quality: { score: 100, rating: "A" },
    model: { name: "gpt-test", calls: 6, tokens: 12345, cost: 0.0421 },
    trajectory: [{ index: 1, step: "localize" }],
    ...(pullRequest ? { pull_request: pullRequest } : {}),
  };
}

function runOf(status: string, result: Record<string, unknown>) {
  return {
    id: RUN_ID,
    agent_id: AGENT_ID,
    project_id: PROJECT_ID,
    agent_type: "issue_resolver",
    status,
    exit_reason: status === "completed" ? "resolved" : "error",
    trigger: { kind: "api", ref: "trunk" },
    error: null,
    attempts: 1,
    cancel_requested: false,
    timeout_seconds: 900,
    queued_at: "2026-12-03T07:00:00Z",
    started_at: "2026-12-03T07:00:10Z",
    finished_at: "2026-12-03T07:05:00Z",
    duration_ms: 290_000,
    result,
    queue: null,
  };
}

function serve(run: ReturnType<typeof runOf>) {
  return renderApp(`/runs/${RUN_ID}`, (method, path) => {
    if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (path === "/api/v1/auth/me") return jsonResponse(me(OWNER));
    if (path === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
    if (path === `/api/v1/agents/${AGENT_ID}` && method === "GET") return jsonResponse(AGENT);
    if (path === `/api/v1/agents/runs/${RUN_ID}`) return jsonResponse(run);
    if (path === `/api/v1/agents/runs/${RUN_ID}/report`) {
      return jsonResponse({ run, result: run.result });
    }
    if (path === `/api/v1/agents/runs/${RUN_ID}/trajectory`) {
      return jsonResponse({ run_id: RUN_ID, calls: [] });
    }
    return undefined;
  });
}

async function resolutionRegion(): Promise<HTMLElement> {
  return screen.findByRole("region", { name: "Resolution" });
}

describe("the resolution of an issue_resolver run", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
  });

  it("test_a_resolved_run_links_its_opened_draft_pull_request_and_shows_its_evidence", async () => {
    serve(
      runOf(
        "completed",
        resolved({
          status: "opened",
          number: 42,
          url: "https://github.com/e2e/demo/pull/42",
          error: null,
          github_status: null,
        }),
      ),
    );
    const region = await resolutionRegion();
    const outcome = within(region).getByTestId("resolution-outcome");
    expect(outcome).toHaveTextContent("Resolved");
    expect(outcome).toHaveTextContent("on branch swe/issue-7, commit cccccccccccc");
    expect(outcome).toHaveTextContent("1 file changed, 1 line added");

    const link = within(region).getByRole("link", { name: "Draft pull request #42" });
    expect(link).toHaveAttribute("href", "https://github.com/e2e/demo/pull/42");
    expect(link).toHaveAttribute("rel", "noopener noreferrer");

    expect(within(region).getByTestId("fail-to-pass")).toHaveTextContent(
      "Tests that failed before and pass after (1)tests/test_repro.py::test_div_by_zero_raises",
    );
    // Eight tests that still pass: five shown, the rest behind "Show all 8".
    const kept = within(region).getByTestId("pass-to-pass");
    expect(kept).toHaveTextContent("Tests that still pass (8)");
    expect(within(kept).getAllByRole("listitem")).toHaveLength(5);
    const user = userEvent.setup();
    await user.click(within(kept).getByRole("button", { name: "Show all 8" }));
    expect(within(kept).getAllByRole("listitem")).toHaveLength(8);
    expect(kept).toHaveTextContent("tests/test_calc.py::test_keep_7");

    expect(within(region).getByTestId("resolution-score")).toHaveTextContent(
      "Quality score 70 → 72.5 (+2.5)",
    );
    expect(within(region).getByTestId("resolution-model")).toHaveTextContent(
      "Model gpt-test: 6 calls, 12,345 tokens, $0.04",
    );
  });

  it("test_the_patch_shows_as_text_so_markup_in_a_line_never_runs", async () => {
    serve(runOf("completed", resolved(undefined)));
    const region = await resolutionRegion();
    const patch = within(region).getByTestId("resolution-patch");
    const file = within(patch).getByTestId("diff-file");
    expect(file).toHaveAttribute("data-path", "app/calc.py");
    const added = file.querySelector('tr[data-kind="add"]');
    expect(added?.getAttribute("data-line-new")).toBe("10");
    expect(added?.textContent).toContain(HOSTILE);
    expect(patch.querySelector("img")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    expect(file.querySelector('tr[data-kind="delete"]')?.textContent).toContain("return 0");
    // No pull request was asked for: the page says so rather than showing nothing.
    expect(within(region).getByTestId("resolution-pull-request")).toHaveTextContent(
      "None was asked for",
    );
  });

  it("test_the_trajectory_downloads_with_the_session_never_a_token_in_the_url", async () => {
    const created = vi.fn(() => "blob:trajectory");
    const saved = { createObjectURL: URL.createObjectURL, revokeObjectURL: URL.revokeObjectURL };
    Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() });
    const saves: string[] = [];
    // jsdom cannot follow a link: record the file the browser would save instead.
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      saves.push(this.download);
    });
    serve(runOf("completed", resolved(undefined)));
    const region = await resolutionRegion();
    const user = userEvent.setup();
    await user.click(within(region).getByRole("button", { name: "Download trajectory" }));
    await waitFor(() => expect(created).toHaveBeenCalled());
    const requests = vi
      .mocked(globalThis.fetch)
      .mock.calls.map(([input]) => input)
      .filter((input): input is Request => input instanceof Request)
      .filter((request) => request.url.includes("/trajectory"));
    expect(requests.map((r) => r.url)).toEqual([
      `${location.origin}/api/v1/agents/runs/${RUN_ID}/trajectory`,
    ]);
    expect(requests[0]?.headers.get("Authorization")).toBe(`Bearer ${TOKENS.access_token}`);
    expect(saves).toEqual([`run-${RUN_ID}.trajectory.json`]);
    click.mockRestore();
    Object.assign(URL, saved);
  });

  it("test_no_candidate_passed_says_why_and_shows_each_candidates_tests", async () => {
    serve(
      runOf("completed", {
        summary:
          "no candidate passed: every candidate broke a test or left the reproduction test failing",
        resolved: false,
        passed: false,
        base_commit: "b".repeat(40),
        candidates: [
          {
            candidate: 0,
            samples: [0, 1],
            agreement: 2,
            files: ["app/calc.py"],
            passed: false,
            regressions: ["tests/test_calc.py::test_keep_0"],
          },
          { candidate: 1, agreement: 1, files: ["app/util.py"], passed: false, regressions: [] },
        ],
        model: { name: "gpt-test", calls: 3, tokens: 900, cost: 0.0042 },
        trajectory: [],
      }),
    );
    const region = await resolutionRegion();
    const outcome = within(region).getByTestId("resolution-outcome");
    expect(outcome).toHaveTextContent("No candidate passed");
    expect(outcome).toHaveTextContent(
      "every candidate broke a test or left the reproduction test failing",
    );
    const table = within(region).getByTestId("resolution-candidates");
    expect(table).toHaveTextContent("2 candidates tested");
    const rows = within(table).getAllByRole("row");
    expect(rows[1]).toHaveTextContent(
      "0 (agreed by 2)failedapp/calc.pytests/test_calc.py::test_keep_0",
    );
    // Nothing delivered: no pull request, no patch, no evidence lists.
    expect(within(region).queryByTestId("resolution-pull-request")).toBeNull();
    expect(within(region).queryByTestId("resolution-patch")).toBeNull();
    expect(within(region).queryByTestId("fail-to-pass")).toBeNull();
    expect(within(region).getByTestId("resolution-model")).toHaveTextContent("$0.0042");
  });

  it("test_a_failed_delivery_shows_the_error_and_githubs_answer", async () => {
    serve(
      runOf(
        "completed",
        resolved({
          status: "failed",
          number: null,
          url: null,
          error: "GitHub refused the branch: protected",
          github_status: 422,
        }),
      ),
    );
    const region = await resolutionRegion();
    const delivery = within(region).getByTestId("resolution-pull-request");
    expect(delivery).toHaveTextContent("The draft pull request was not opened");
    expect(delivery).toHaveTextContent("GitHub refused the branch: protected");
    expect(delivery).toHaveTextContent("GitHub answered 422.");
    expect(within(delivery).queryByRole("link")).toBeNull();
  });

  it("test_a_requested_pull_request_says_it_waits", async () => {
    serve(
      runOf(
        "completed",
        resolved({ branch: "swe/issue-7", base_ref: "trunk", title: "Resolve: x", files: {} }),
      ),
    );
    const region = await resolutionRegion();
    expect(within(region).getByTestId("resolution-pull-request")).toHaveTextContent(
      "Requested: the issues service opens it from swe/issue-7 into trunk.",
    );
  });

  it("test_a_failed_run_with_a_result_still_shows_it_and_one_without_shows_none", async () => {
    const failed = runOf("failed", {
      summary: "no candidate passed: no candidate patch applied",
      resolved: false,
      candidates: [],
    });
    const view = serve(failed);
    const region = await resolutionRegion();
    expect(within(region).getByTestId("resolution-outcome")).toHaveTextContent(
      "no candidate patch applied",
    );
    view.unmount();
    serve({ ...failed, result: null as unknown as Record<string, unknown> });
    await screen.findByRole("region", { name: "Details" });
    expect(screen.queryByRole("region", { name: "Resolution" })).toBeNull();
  });
});
