/**
 * Agents and their runs (the agents service, /api/v1/agents): the lists, an agent, a run, its
 * report and source lines; create, edit, delete, start and cancel. Runs change under the
 * reader's eyes through the run notifications (`applyRunChange`), never by polling.
 */
import {
  keepPreviousData,
  type QueryClient,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import {
  cancelRunApiV1AgentsRunsRunIdCancelPost,
  createAgentApiV1AgentsPost,
  deleteAgentApiV1AgentsAgentIdDelete,
  getAgentApiV1AgentsAgentIdGet,
  getRunApiV1AgentsRunsRunIdGet,
  listAgentsApiV1AgentsGet,
  listProjectRunsApiV1AgentsProjectsProjectIdRunsGet,
  listRunsApiV1AgentsAgentIdRunsGet,
  runReportApiV1AgentsRunsRunIdReportGet,
  runSourceApiV1AgentsRunsRunIdSourceGet,
  startRunApiV1AgentsAgentIdStartPost,
  updateAgentApiV1AgentsAgentIdPatch,
} from "@/client/sdk.gen";
import type {
  AgentCreate,
  AgentOut,
  AgentUpdate,
  RunDetailOut,
  RunOut,
  RunStart,
} from "@/client/types.gen";
import { authFetch } from "@/lib/auth";
import type { RunChange } from "@/lib/runFeed";

export const AGENTS_PAGE_SIZE = 20;
export const RUNS_PAGE_SIZE = 20;
export const TERMINAL = ["completed", "failed", "cancelled"] as const;

export function isFinished(status: string | undefined): boolean {
  return !!status && (TERMINAL as readonly string[]).includes(status);
}

export const agentKeys = {
  all: ["agents"] as const,
  list: (projectId: string | null, page: number) => ["agents", "list", projectId, page] as const,
  detail: (id: string) => ["agents", "detail", id] as const,
  runs: (agentId: string, page: number) => ["agents", "runs", agentId, page] as const,
  run: (runId: string) => ["runs", runId] as const,
  report: (runId: string) => ["runs", runId, "report"] as const,
  source: (runId: string, path: string, line: number) =>
    ["runs", runId, "source", path, line] as const,
  projectRuns: (projectId: string, search?: ProjectRunsSearch) =>
    search
      ? (["project-runs", projectId, search] as const)
      : (["project-runs", projectId] as const),
};

export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled";
export const RUN_STATUSES: readonly RunStatus[] = [
  "pending",
  "running",
  "completed",
  "failed",
  "cancelled",
];

/** A project's runs list in the URL: ?status=&agent=&page=. */
export interface ProjectRunsSearch {
  status?: RunStatus;
  agent?: string;
  page?: number;
}

export function useAgents(projectId: string | null, page: number) {
  return useQuery({
    queryKey: agentKeys.list(projectId, page),
    queryFn: async () =>
      (
        await listAgentsApiV1AgentsGet({
          query: {
            project_id: projectId ?? undefined,
            limit: AGENTS_PAGE_SIZE,
            offset: (page - 1) * AGENTS_PAGE_SIZE,
            sort: "name",
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

export function useAgent(agentId: string) {
  return useQuery({
    queryKey: agentKeys.detail(agentId),
    queryFn: async () =>
      (await getAgentApiV1AgentsAgentIdGet({ path: { agent_id: agentId }, throwOnError: true }))
        .data,
  });
}

/** An agent's runs, newest first (kept current by the run notifications). */
export function useRuns(agentId: string, page: number) {
  return useQuery({
    queryKey: agentKeys.runs(agentId, page),
    queryFn: async () =>
      (
        await listRunsApiV1AgentsAgentIdRunsGet({
          path: { agent_id: agentId },
          query: { limit: RUNS_PAGE_SIZE, offset: (page - 1) * RUNS_PAGE_SIZE },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

/** A project's runs, every agent's, with the list's filters and page (kept current likewise). */
export function useProjectRuns(projectId: string, search: ProjectRunsSearch) {
  const page = search.page ?? 1;
  return useQuery({
    queryKey: agentKeys.projectRuns(projectId, search),
    queryFn: async () =>
      (
        await listProjectRunsApiV1AgentsProjectsProjectIdRunsGet({
          path: { project_id: projectId },
          query: {
            status: search.status,
            agent_id: search.agent,
            limit: RUNS_PAGE_SIZE,
            offset: (page - 1) * RUNS_PAGE_SIZE,
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

/** A run; its status changes arrive with the run notifications (`applyRunChange`). */
export function useRun(runId: string) {
  return useQuery({
    queryKey: agentKeys.run(runId),
    queryFn: async () =>
      (await getRunApiV1AgentsRunsRunIdGet({ path: { run_id: runId }, throwOnError: true })).data,
  });
}

/** The source lines kept around a finding (never changes once the run has finished). */
export function useRunSource(runId: string, path: string, line: number) {
  return useQuery({
    queryKey: agentKeys.source(runId, path, line),
    queryFn: async () =>
      (
        await runSourceApiV1AgentsRunsRunIdSourceGet({
          path: { run_id: runId },
          query: { path, line },
          throwOnError: true,
        })
      ).data,
    staleTime: Number.POSITIVE_INFINITY,
  });
}

function isRunKey(key: readonly unknown[]): boolean {
  return key[0] === "runs" && key.length === 2;
}

/**
 * A run changed (a notification): the run's page shows the new state at once, then reads the
 * whole run again (its result, attempts); the lists holding it read their page again; a
 * pending run of the same project reads again too (a slot may have freed).
 */
export function applyRunChange(queryClient: QueryClient, change: RunChange): void {
  if (change.kind === "delivery") {
    // The run's result now says what became of its pull request: its page reads it again.
    // Its status and the lists (which show no pull request) are as they were.
    void queryClient.invalidateQueries({ queryKey: agentKeys.run(change.run_id), exact: true });
    return;
  }
  queryClient.setQueryData<RunDetailOut>(agentKeys.run(change.run_id), (old) =>
    old
      ? {
          ...old,
          status: change.status,
          exit_reason: change.exit_reason,
          started_at: change.started_at,
          finished_at: change.finished_at,
          duration_ms: change.duration_ms,
          queue: change.status === "pending" ? old.queue : null,
        }
      : old,
  );
  void queryClient.invalidateQueries({
    predicate: (query) => {
      if (!isRunKey(query.queryKey)) return false;
      if (query.queryKey[1] === change.run_id) return true;
      const run = query.state.data as RunDetailOut | undefined;
      return run?.status === "pending" && run.project_id === change.project_id;
    },
  });
  void queryClient.invalidateQueries({ queryKey: ["agents", "runs", change.agent_id] });
  void queryClient.invalidateQueries({ queryKey: agentKeys.projectRuns(change.project_id) });
}

/** The feed is live again after a drop: read every run and run list on screen again. */
export function refreshRuns(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ predicate: (query) => isRunKey(query.queryKey) });
  void queryClient.invalidateQueries({ queryKey: ["agents", "runs"] });
  void queryClient.invalidateQueries({ queryKey: ["project-runs"] });
}

/** The JSON report of a completed run: `{run, result}`; it never changes. */
export function useRunReport(runId: string, enabled: boolean) {
  return useQuery({
    queryKey: agentKeys.report(runId),
    queryFn: async () =>
      (
        await runReportApiV1AgentsRunsRunIdReportGet({
          path: { run_id: runId },
          query: { format: "json" },
          throwOnError: true,
        })
      ).data as { run: Record<string, unknown>; result: Record<string, unknown> },
    enabled,
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function useCreateAgent() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: AgentCreate) =>
      (await createAgentApiV1AgentsPost({ body, throwOnError: true })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["agents", "list"] }),
  });
}

export function useUpdateAgent(agentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: AgentUpdate) =>
      (
        await updateAgentApiV1AgentsAgentIdPatch({
          path: { agent_id: agentId },
          body,
          throwOnError: true,
        })
      ).data,
    onSuccess: (agent: AgentOut) => {
      queryClient.setQueryData(agentKeys.detail(agentId), agent);
      void queryClient.invalidateQueries({ queryKey: ["agents", "list"] });
    },
  });
}

export function useDeleteAgent(agentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await deleteAgentApiV1AgentsAgentIdDelete({
        path: { agent_id: agentId },
        throwOnError: true,
      });
    },
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: agentKeys.detail(agentId) });
      void queryClient.invalidateQueries({ queryKey: ["agents", "list"] });
    },
  });
}

export function useStartRun(agentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: RunStart) =>
      (
        await startRunApiV1AgentsAgentIdStartPost({
          path: { agent_id: agentId },
          body,
          throwOnError: true,
        })
      ).data,
    onSuccess: (run: RunOut) => {
      queryClient.setQueryData(agentKeys.run(run.id), run);
      void queryClient.invalidateQueries({ queryKey: ["agents", "runs", agentId] });
      void queryClient.invalidateQueries({ queryKey: agentKeys.projectRuns(run.project_id) });
    },
  });
}

export function useCancelRun(runId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      (
        await cancelRunApiV1AgentsRunsRunIdCancelPost({
          path: { run_id: runId },
          throwOnError: true,
        })
      ).data,
    onSuccess: (run: RunOut) => {
      queryClient.setQueryData<RunDetailOut>(agentKeys.run(runId), (old) => ({
        ...run,
        queue: old?.queue ?? null,
      }));
      void queryClient.invalidateQueries({ queryKey: ["agents", "runs", run.agent_id] });
    },
  });
}

/** A file of a finished run the console downloads with the session. */
export interface RunDownload {
  label: string;
  /** Under /api/v1/agents/runs/{id}/. */
  path: string;
  /** The file is saved as run-{id}.{suffix}. */
  suffix: string;
  type: string;
}

/** The downloads a completed analysis run offers, as the API names them. */
export const DOWNLOADS = [
  { label: "SARIF", path: "sarif", suffix: "sarif", type: "application/sarif+json" },
  { label: "JSON", path: "report?format=json", suffix: "json", type: "application/json" },
  {
    label: "Markdown",
    path: "report?format=markdown",
    suffix: "md",
    type: "text/markdown",
  },
] as const satisfies readonly RunDownload[];

/** Every model call of a finished run (prompt, answer, tokens, cost, latency) as JSON. */
export const TRAJECTORY_DOWNLOAD: RunDownload = {
  label: "Trajectory",
  path: "trajectory",
  suffix: "trajectory.json",
  type: "application/json",
};

/**
 * Fetch one export with the session (the API wants the bearer token, which a plain link
 * cannot carry) and hand it to the browser as a file.
 */
export async function downloadRunExport(runId: string, download: RunDownload): Promise<void> {
  const response = await authFetch(
    `/api/v1/agents/runs/${encodeURIComponent(runId)}/${download.path}`,
  );
  const blob = new Blob([await response.blob()], { type: download.type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `run-${runId}.${download.suffix}`;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the blob over; keep it a moment for slower browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
