/** Runs as a table, for an agent's page and a project's Runs tab: newest first. */
import { Table, Text } from "@mantine/core";
import { AnchorLink } from "@/components/links";
import { formatDuration, RunStatusBadge, triggerText } from "@/features/agents/runFormat";
import { formatDate } from "@/lib/format";

export interface RunRow {
  id: string;
  queued_at: string;
  trigger: Record<string, unknown>;
  status: string;
  exit_reason?: string | null;
  duration_ms?: number | null;
  score: number | null;
  /** Shown in a column of its own when the table lists several agents' runs. */
  agent?: { id: string; name: string | null };
}

export function RunsTable({
  rows,
  total,
  withAgent = false,
}: {
  rows: RunRow[];
  total: number;
  withAgent?: boolean;
}) {
  return (
    <Table striped highlightOnHover verticalSpacing="xs" captionSide="top">
      <Table.Caption>
        {total} run{total === 1 ? "" : "s"}, newest first
      </Table.Caption>
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Queued</Table.Th>
          {withAgent && <Table.Th scope="col">Agent</Table.Th>}
          <Table.Th scope="col">On</Table.Th>
          <Table.Th scope="col">Status</Table.Th>
          <Table.Th scope="col">Exit reason</Table.Th>
          <Table.Th scope="col">Duration</Table.Th>
          <Table.Th scope="col">Score</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((run) => (
          <Table.Tr key={run.id} data-run-id={run.id}>
            <Table.Td>
              <AnchorLink to="/runs/$runId" params={{ runId: run.id }} fw={600}>
                {formatDate(run.queued_at)}
              </AnchorLink>
            </Table.Td>
            {withAgent && (
              <Table.Td>
                {run.agent ? (
                  <AnchorLink to="/agents/$agentId" params={{ agentId: run.agent.id }} size="sm">
                    {run.agent.name ?? "agent"}
                  </AnchorLink>
                ) : (
                  "—"
                )}
              </Table.Td>
            )}
            <Table.Td>
              <Text size="sm">{triggerText(run.trigger)}</Text>
            </Table.Td>
            <Table.Td>
              <RunStatusBadge status={run.status} />
            </Table.Td>
            <Table.Td>
              <Text size="sm">{run.exit_reason ?? "—"}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{formatDuration(run.duration_ms)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{run.score === null ? "—" : run.score}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
