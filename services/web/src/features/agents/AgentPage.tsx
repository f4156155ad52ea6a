import { Button, Group, Skeleton, Stack, Table, Text } from "@mantine/core";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { RUNS_PAGE_SIZE, useAgent, useDeleteAgent, useRuns } from "@/api/agents";
import { useMe } from "@/api/auth";
import { useProject } from "@/api/projects";
import type { AgentOut } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { ButtonLink } from "@/components/links";
import { NotFoundView } from "@/components/NotFoundView";
import { PageHeader } from "@/components/PageHeader";
import { Pager } from "@/components/Pager";
import { Section } from "@/components/Section";
import { AgentFormModal } from "@/features/agents/AgentFormModal";
import { typeLabel } from "@/features/agents/agentTypes";
import { RunsTable } from "@/features/agents/RunsTable";
import { runScore } from "@/features/agents/runFormat";
import { StartRunModal } from "@/features/agents/StartRunModal";
import { ApiError } from "@/lib/errors";
import { projectPermissions } from "@/lib/permissions";

/** An agent: its configuration, its runs; edit, delete and start a run. */
export function AgentPage() {
  const { agentId } = useParams({ from: "/app/agents/$agentId" });
  const search = useSearch({ from: "/app/agents/$agentId" });
  const navigate = useNavigate({ from: "/agents/$agentId" });
  const agent = useAgent(agentId);
  if (agent.isPending) return <Skeleton h={200} />;
  if (agent.isError) {
    const status = agent.error instanceof ApiError ? agent.error.status : 0;
    if (status === 404 || status === 422) return <NotFoundView what="agent" error={agent.error} />;
    return <ErrorView error={agent.error} onRetry={() => agent.refetch()} />;
  }
  return (
    <AgentView
      data={agent.data}
      page={search.page ?? 1}
      onPage={(page) => void navigate({ search: page > 1 ? { page } : {} })}
    />
  );
}

function AgentView({
  data,
  page,
  onPage,
}: {
  data: AgentOut;
  page: number;
  onPage: (page: number) => void;
}) {
  const navigate = useNavigate();
  const project = useProject(data.project_id);
  const me = useMe();
  const remove = useDeleteAgent(data.id);
  const [editing, setEditing] = useState(false);
  const [starting, setStarting] = useState(false);
  const permissions = project.data ? projectPermissions(project.data, me.data) : undefined;
  const canWrite = permissions?.canWriteAgents ?? false;
  const canRun = permissions?.canRunAgents ?? false;
  const projectName = project.data?.name ?? "Project";

  return (
    <>
      <PageHeader
        title={data.name}
        crumbs={[
          { label: "Home", to: "/" },
          { label: "Projects", to: "/projects" },
          { label: projectName, to: `/projects/${data.project_id}/agents` },
          { label: "Agents", to: `/projects/${data.project_id}/agents` },
          { label: data.name },
        ]}
        description={
          <Text span size="sm">
            {typeLabel(data.type)} · {data.status}
          </Text>
        }
        actions={
          <Group>
            <ButtonLink
              variant="default"
              to="/analytics/agents/$agentId"
              params={{ agentId: data.id }}
            >
              Analytics
            </ButtonLink>
            {canRun && (
              <Button onClick={() => setStarting(true)} disabled={data.status !== "active"}>
                Start a run
              </Button>
            )}
            {canWrite && (
              <>
                <Button variant="default" onClick={() => setEditing(true)}>
                  Edit
                </Button>
                <ConfirmButton
                  label="Delete"
                  title={`Delete ${data.name}?`}
                  message="The agent and its runs' history go; a running run is cancelled."
                  confirmLabel="Delete agent"
                  pending={remove.isPending}
                  error={remove.error}
                  onConfirm={async () => {
                    await remove.mutateAsync();
                    void navigate({
                      to: "/projects/$projectId/agents",
                      params: { projectId: data.project_id },
                    });
                  }}
                />
              </>
            )}
          </Group>
        }
      />
      {canWrite && (
        <AgentFormModal
          projectId={data.project_id}
          agent={data}
          opened={editing}
          onClose={() => setEditing(false)}
          onSaved={() => setEditing(false)}
        />
      )}
      {canRun && (
        <StartRunModal
          agent={data}
          defaultBranch={project.data?.default_branch ?? "main"}
          opened={starting}
          onClose={() => setStarting(false)}
          onStarted={(run) => {
            setStarting(false);
            void navigate({ to: "/runs/$runId", params: { runId: run.id } });
          }}
        />
      )}
      <Stack gap="md">
        {data.description && <Text>{data.description}</Text>}
        <Section id="runs-title" title="Runs">
          <AgentRuns agentId={data.id} page={page} onPage={onPage} />
        </Section>
        <Section id="config-title" title="Configuration">
          <ConfigList config={data.config} />
        </Section>
      </Stack>
    </>
  );
}

function ConfigList({ config }: { config: Record<string, unknown> }) {
  const entries = Object.entries(config);
  if (entries.length === 0) return <Text size="sm">The defaults.</Text>;
  return (
    <Table withRowBorders={false} verticalSpacing={4}>
      <Table.Tbody>
        {entries.map(([key, value]) => (
          <Table.Tr key={key}>
            <Table.Th scope="row" w={240}>
              {key}
            </Table.Th>
            <Table.Td>
              <code>{Array.isArray(value) ? value.join(", ") || "none" : String(value)}</code>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function AgentRuns({
  agentId,
  page,
  onPage,
}: {
  agentId: string;
  page: number;
  onPage: (page: number) => void;
}) {
  const runs = useRuns(agentId, page);
  if (runs.isPending) return <Skeleton h={120} />;
  if (runs.isError) return <ErrorView error={runs.error} onRetry={() => runs.refetch()} />;
  if (runs.data.items.length === 0) return <Text size="sm">No runs yet.</Text>;
  const rows = runs.data.items.map((run) => ({ ...run, score: runScore(run) }));
  return (
    <>
      <RunsTable rows={rows} total={runs.data.total} />
      <Pager total={runs.data.total} pageSize={RUNS_PAGE_SIZE} page={page} onChange={onPage} />
    </>
  );
}
