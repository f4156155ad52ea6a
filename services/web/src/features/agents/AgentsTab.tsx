import { Button, Group, Stack, Text } from "@mantine/core";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { useMe } from "@/api/auth";
import { useProject } from "@/api/projects";
import { AgentFormModal } from "@/features/agents/AgentFormModal";
import { AgentsTable } from "@/features/agents/AgentsTable";
import { projectPermissions } from "@/lib/permissions";

/** The project's agents; owners and maintainers create them here. */
export function AgentsTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/agents" });
  const search = useSearch({ from: "/app/projects/$projectId/agents" });
  const navigate = useNavigate({ from: "/projects/$projectId/agents" });
  const project = useProject(projectId);
  const me = useMe();
  const [creating, setCreating] = useState(false);
  const canWrite = project.data ? projectPermissions(project.data, me.data).canWriteAgents : false;

  return (
    <Stack gap="md">
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          Agents analyze the code, review pull requests and resolve issues; each run is listed on
          its agent's page.
        </Text>
        {canWrite && <Button onClick={() => setCreating(true)}>New agent</Button>}
      </Group>
      <AgentFormModal
        projectId={projectId}
        opened={creating}
        onClose={() => setCreating(false)}
        onSaved={(agent) => {
          setCreating(false);
          void navigate({ to: "/agents/$agentId", params: { agentId: agent.id } });
        }}
      />
      <AgentsTable
        projectId={projectId}
        page={search.page ?? 1}
        onPage={(page) => void navigate({ search: page > 1 ? { page } : {} })}
        empty={`This project has no agents yet${canWrite ? ": create one." : "."}`}
      />
    </Stack>
  );
}
