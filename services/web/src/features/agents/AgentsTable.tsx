import { Badge, Skeleton, Table, Text } from "@mantine/core";
import type { ReactNode } from "react";
import { AGENTS_PAGE_SIZE, useAgents } from "@/api/agents";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { Pager } from "@/components/Pager";
import { typeLabel } from "@/features/agents/agentTypes";
import { formatDate } from "@/lib/format";

/** Agents, one project's or every one the caller can see, a page at a time. */
export function AgentsTable({
  projectId,
  page,
  onPage,
  empty,
  projectName,
}: {
  projectId: string | null;
  page: number;
  onPage: (page: number) => void;
  empty: ReactNode;
  /** For the list across projects: the project column's text. */
  projectName?: (projectId: string) => ReactNode;
}) {
  const agents = useAgents(projectId, page);
  if (agents.isPending) return <Skeleton h={160} />;
  if (agents.isError) return <ErrorView error={agents.error} onRetry={() => agents.refetch()} />;
  if (agents.data.items.length === 0) return <Text>{empty}</Text>;
  return (
    <>
      <Table striped highlightOnHover verticalSpacing="xs" captionSide="top">
        <Table.Caption>
          {agents.data.total} agent{agents.data.total === 1 ? "" : "s"}
        </Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Name</Table.Th>
            <Table.Th scope="col">Type</Table.Th>
            {projectName && <Table.Th scope="col">Project</Table.Th>}
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {agents.data.items.map((agent) => (
            <Table.Tr key={agent.id}>
              <Table.Td>
                <AnchorLink to="/agents/$agentId" params={{ agentId: agent.id }} fw={600}>
                  {agent.name}
                </AnchorLink>
                {agent.description && (
                  <Text size="xs" c="dimmed" lineClamp={1}>
                    {agent.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{typeLabel(agent.type)}</Table.Td>
              {projectName && (
                <Table.Td>
                  <AnchorLink
                    to="/projects/$projectId/agents"
                    params={{ projectId: agent.project_id }}
                  >
                    {projectName(agent.project_id)}
                  </AnchorLink>
                </Table.Td>
              )}
              <Table.Td>
                <Badge variant="outline" color={agent.status === "active" ? "#1e6a2e" : "gray.8"}>
                  {agent.status}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{formatDate(agent.created_at)}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager total={agents.data.total} pageSize={AGENTS_PAGE_SIZE} page={page} onChange={onPage} />
    </>
  );
}
