import { Alert, Button, Group, SimpleGrid, Skeleton, Stack, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useParams } from "@tanstack/react-router";
import { useEffect } from "react";
import { agentKeys, isFinished, useAgent, useCancelRun, useRun } from "@/api/agents";
import { useMe } from "@/api/auth";
import { useProject } from "@/api/projects";
import type { QueueOut, RunDetailOut } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { NotFoundView } from "@/components/NotFoundView";
import { PageHeader } from "@/components/PageHeader";
import { Section } from "@/components/Section";
import { FindingsSection } from "@/features/agents/FindingsSection";
import { LiveLogView, useLiveLog } from "@/features/agents/LiveLogView";
import { ResolutionSection } from "@/features/agents/ResolutionSection";
import { formatDuration, RunStatusBadge, triggerText } from "@/features/agents/runFormat";
import { ApiError } from "@/lib/errors";
import { formatDate } from "@/lib/format";
import { projectPermissions } from "@/lib/permissions";

/**
 * A run: its status as it changes (the run notifications update it, no polling), its live
 * log, an issue resolver's resolution once it ended with a result, and once completed its
 * findings.
 */
export function RunPage() {
  const { runId } = useParams({ from: "/app/runs/$runId" });
  const run = useRun(runId);
  if (run.isPending) return <Skeleton h={200} />;
  if (run.isError) {
    const status = run.error instanceof ApiError ? run.error.status : 0;
    if (status === 404 || status === 422) return <NotFoundView what="run" error={run.error} />;
    return <ErrorView error={run.error} onRetry={() => run.refetch()} />;
  }
  return <RunView run={run.data} />;
}

/** Why a queued run has not started: the project's runs take every slot, or no worker yet. */
function QueuedNotice({ queue }: { queue: QueueOut | null }) {
  if (queue?.at_capacity) {
    return (
      <Alert color="gray" title="Queued behind the project's other runs" role="status">
        The project already runs {queue.running} of its at most {queue.limit} runs at once: this run
        starts as soon as one of them ends.
      </Alert>
    );
  }
  return (
    <Alert color="gray" title="Queued" role="status">
      The run waits for a worker
      {queue ? ` (the project runs ${queue.running} of at most ${queue.limit} runs at once)` : ""}.
    </Alert>
  );
}

function RunView({ run }: { run: RunDetailOut }) {
  const queryClient = useQueryClient();
  const agent = useAgent(run.agent_id);
  const project = useProject(run.project_id);
  const me = useMe();
  const cancel = useCancelRun(run.id);
  // The stream's end (or a first line of a queued run) means the status changed: ask again.
  const refresh = () => void queryClient.invalidateQueries({ queryKey: agentKeys.run(run.id) });
  const log = useLiveLog(run.id, refresh);
  const logging = log.lines.length > 0;
  const pending = run.status === "pending";
  // A queued run that logs has started: ask at once rather than at the next poll.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only when the run starts logging
  useEffect(() => {
    if (logging && pending) refresh();
  }, [logging, pending]);

  const canWrite = project.data ? projectPermissions(project.data, me.data).canRunAgents : false;
  const agentName = agent.data?.name ?? "Agent";
  const finished = isFinished(run.status);

  return (
    <>
      <PageHeader
        title={`Run of ${agentName}`}
        crumbs={[
          { label: "Home", to: "/" },
          { label: project.data?.name ?? "Project", to: `/projects/${run.project_id}/agents` },
          { label: agentName, to: `/agents/${run.agent_id}` },
          { label: "Run" },
        ]}
        description={
          <Group gap="xs" component="span">
            <RunStatusBadge status={run.status} />
            <Text span size="sm">
              {triggerText(run.trigger)}
            </Text>
          </Group>
        }
        actions={
          canWrite &&
          !finished && (
            <Button
              color="red.9"
              variant="outline"
              loading={cancel.isPending}
              disabled={run.cancel_requested}
              onClick={() => cancel.mutate()}
            >
              {run.cancel_requested ? "Cancelling…" : "Cancel run"}
            </Button>
          )
        }
      />
      <Stack gap="md">
        {cancel.isError && <ErrorView error={cancel.error} />}
        {run.status === "pending" && <QueuedNotice queue={run.queue ?? null} />}
        {run.status === "failed" && run.error && (
          <Alert color="red" title="The run failed">
            {run.error}
          </Alert>
        )}
        <Section id="details-title" title="Details">
          <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm">
            <Detail label="Status" value={<RunStatusBadge status={run.status} />} />
            <Detail label="Exit reason" value={run.exit_reason ?? "—"} />
            <Detail label="Duration" value={formatDuration(run.duration_ms)} />
            <Detail label="Attempts" value={String(run.attempts)} />
            <Detail label="Queued" value={formatDate(run.queued_at)} />
            <Detail label="Started" value={run.started_at ? formatDate(run.started_at) : "—"} />
            <Detail label="Finished" value={run.finished_at ? formatDate(run.finished_at) : "—"} />
            <Detail label="Time limit" value={`${run.timeout_seconds} s`} />
          </SimpleGrid>
        </Section>
        <Section id="log-title" title="Log">
          <LiveLogView lines={log.lines} state={log.state} detail={log.detail} />
        </Section>
        {run.agent_type === "issue_resolver" && finished && run.result && (
          <ResolutionSection runId={run.id} result={run.result} />
        )}
        {run.status === "completed" && <FindingsSection runId={run.id} />}
      </Stack>
    </>
  );
}

function Detail({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div">
        {value}
      </Text>
    </div>
  );
}
