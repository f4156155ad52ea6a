import { Text } from "@mantine/core";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useProjects } from "@/api/projects";
import { PageHeader } from "@/components/PageHeader";
import { AgentsTable } from "@/features/agents/AgentsTable";

/** Every agent the caller can see, across projects (created on a project's Agents tab). */
export function AgentsPage() {
  const search = useSearch({ from: "/app/agents" });
  const navigate = useNavigate({ from: "/agents" });
  // The project column's names: the first hundred projects one sees (the API's largest page).
  const projects = useProjects("", 1, 100);
  const name = (projectId: string) =>
    projects.data?.items.find((p) => p.id === projectId)?.name ?? "Project";

  return (
    <>
      <PageHeader
        title="Agents"
        crumbs={[{ label: "Home", to: "/" }, { label: "Agents" }]}
        description={
          <Text span size="sm">
            A new agent is created on its project's Agents tab.
          </Text>
        }
      />
      <AgentsTable
        projectId={null}
        page={search.page ?? 1}
        onPage={(page) => void navigate({ search: page > 1 ? { page } : {} })}
        empty="No agents in the projects you can see."
        projectName={name}
      />
    </>
  );
}
