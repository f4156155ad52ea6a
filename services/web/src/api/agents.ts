/**
 * Agents and their runs (the agents service, /api/v1/agents): the lists, an agent, a run, its
 * report; create, edit, delete, start and cancel.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  cancelRunApiV1AgentsRunsRunIdCancelPost,
  createAgentApiV1AgentsPost,
  deleteAgentApiV1AgentsAgentIdDelete,
  getAgentApiV1AgentsAgentIdGet,
  getRunApiV1AgentsRunsRunIdGet,
  listAgentsApiV1AgentsGet,
  listRunsApiV1AgentsAgentIdRunsGet,
  runReportApiV1AgentsRunsRunIdReportGet,
  startRunApiV1AgentsAgentIdStartPost,
  updateAgentApiV1AgentsAgentIdPatch,
} from "@/client/sdk.gen";
import type { AgentCreate, AgentOut, AgentUpdate, RunOut, RunStart } from "@/client/types.gen";
import { authFetch } from "@/lib/auth";

export const AGENTS_PAGE_SIZE = 20;
export const RUNS_PAGE_SIZE = 20;
/** How often an unfinished run is asked about (the live log also says when it ends). */
export const RUN_POLL_MS = 2_000;
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
};

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

/** An agent's runs, newest first; asked again while one of the page's runs is unfinished. */
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
    refetchInterval: (query) =>
      query.state.data?.items.some((run) => !isFinished(run.status)) ? RUN_POLL_MS : false,
  });
}

export function useRun(runId: string) {
  return useQuery({
    queryKey: agentKeys.run(runId),
    queryFn: async () =>
      (await getRunApiV1AgentsRunsRunIdGet({ path: { run_id: runId }, throwOnError: true })).data,
    refetchInterval: (query) => (isFinished(query.state.data?.status) ? false : RUN_POLL_MS),
  });
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
      queryClient.setQueryData(agentKeys.run(runId), run);
      void queryClient.invalidateQueries({ queryKey: ["agents", "runs", run.agent_id] });
    },
  });
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
] as const;

/**
 * Fetch one export with the session (the API wants the bearer token, which a plain link
 * cannot carry) and hand it to the browser as a file.
 */
export async function downloadRunExport(
  runId: string,
  download: (typeof DOWNLOADS)[number],
): Promise<void> {
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
