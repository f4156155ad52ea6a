/**
 * A project's Runs tab: every agent's runs with status, exit reason, duration and score,
 * filtered by status and agent, paged, all in the URL. Runs change on screen as they happen
 * (the run notifications invalidate the list), never by polling.
 */
import { Group, NativeSelect, Skeleton, Stack, Text } from "@mantine/core";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import {
  type ProjectRunsSearch,
  RUN_STATUSES,
  RUNS_PAGE_SIZE,
  type RunStatus,
  useAgents,
  useProjectRuns,
} from "@/api/agents";
import { ErrorView } from "@/components/ErrorView";
import { Pager } from "@/components/Pager";
import { RunsTable } from "@/features/agents/RunsTable";
import { statusLabel } from "@/features/agents/runFormat";

export function ProjectRunsTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/runs" });
  const search = useSearch({ from: "/app/projects/$projectId/runs" });
  const navigate = useNavigate({ from: "/projects/$projectId/runs" });
  const agents = useAgents(projectId, 1);
  const runs = useProjectRuns(projectId, search);
  const go = (next: ProjectRunsSearch) => void navigate({ search: next });

  return (
    <Stack gap="md">
      <Group align="flex-end">
        <NativeSelect
          label="Status"
          value={search.status ?? ""}
          data={[
            { value: "", label: "Any status" },
            ...RUN_STATUSES.map((status) => ({ value: status, label: statusLabel(status) })),
          ]}
          onChange={(e) =>
            go({
              ...search,
              status: (e.currentTarget.value || undefined) as RunStatus,
              page: undefined,
            })
          }
          w={180}
        />
        <NativeSelect
          label="Agent"
          value={search.agent ?? ""}
          data={[
            { value: "", label: "Any agent" },
            ...(agents.data?.items ?? []).map((agent) => ({ value: agent.id, label: agent.name })),
          ]}
          onChange={(e) =>
            go({ ...search, agent: e.currentTarget.value || undefined, page: undefined })
          }
          w={220}
        />
      </Group>
      {runs.isPending ? (
        <Skeleton h={160} />
      ) : runs.isError ? (
        <ErrorView error={runs.error} onRetry={() => runs.refetch()} />
      ) : runs.data.items.length === 0 ? (
        <Text size="sm">
          {search.status || search.agent
            ? "No run matches these filters."
            : "No runs yet: start one from an agent's page."}
        </Text>
      ) : (
        <>
          <RunsTable
            withAgent
            total={runs.data.total}
            rows={runs.data.items.map((run) => ({
              ...run,
              agent: { id: run.agent_id, name: run.agent_name },
            }))}
          />
          <Pager
            total={runs.data.total}
            pageSize={RUNS_PAGE_SIZE}
            page={search.page ?? 1}
            onChange={(page) => go({ ...search, page: page > 1 ? page : undefined })}
          />
        </>
      )}
    </Stack>
  );
}
