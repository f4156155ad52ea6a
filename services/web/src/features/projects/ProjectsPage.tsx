import { Badge, Button, Skeleton, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { PAGE_SIZE, useProjects } from "@/api/projects";
import type { ProjectCreated } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { PageHeader } from "@/components/PageHeader";
import { Pager } from "@/components/Pager";
import { SecretOnce } from "@/components/SecretOnce";
import { CreateProjectModal } from "@/features/projects/CreateProjectModal";

export function ProjectsPage() {
  const search = useSearch({ from: "/app/projects" });
  const navigate = useNavigate({ from: "/projects" });
  const q = search.q ?? "";
  const page = search.page ?? 1;
  const projects = useProjects(q, page);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ProjectCreated | null>(null);
  const [draft, setDraft] = useState(q);
  // The search and the page live in the URL: a reload or a shared link shows the same list.
  const setQuery = useDebouncedCallback((value: string) => {
    void navigate({ search: value ? { q: value } : {}, replace: true });
  }, 300);

  return (
    <>
      <PageHeader
        title="Projects"
        crumbs={[{ label: "Home", to: "/" }, { label: "Projects" }]}
        actions={<Button onClick={() => setCreating(true)}>New project</Button>}
      />
      <CreateProjectModal
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={(project) => {
          setCreating(false);
          setCreated(project);
        }}
      />
      <Stack gap="md">
        {created && (
          <Stack gap="xs">
            <Text>
              Project{" "}
              <AnchorLink to="/projects/$projectId/issues" params={{ projectId: created.id }}>
                {created.name}
              </AnchorLink>{" "}
              created. Point GitHub's webhook at <code>{created.webhook_path}</code> with this
              secret:
            </Text>
            <SecretOnce
              title="Webhook secret"
              secret={created.webhook_secret}
              onDone={() => setCreated(null)}
            />
          </Stack>
        )}
        <TextInput
          label="Search projects"
          placeholder="Name or description"
          value={draft}
          onChange={(event) => {
            setDraft(event.currentTarget.value);
            setQuery(event.currentTarget.value.trim());
          }}
          maw={400}
        />
        {projects.isPending && <Skeleton h={160} />}
        {projects.isError && (
          <ErrorView error={projects.error} onRetry={() => projects.refetch()} />
        )}
        {projects.data && projects.data.items.length === 0 && (
          <Text>
            {q
              ? `No project matches “${q}”.`
              : "No projects yet: create one to register a repository."}
          </Text>
        )}
        {projects.data && projects.data.items.length > 0 && (
          <Table striped highlightOnHover verticalSpacing="xs" captionSide="top">
            <Table.Caption>
              {projects.data.total} project{projects.data.total === 1 ? "" : "s"}
            </Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Repository</Table.Th>
                <Table.Th scope="col">Branch</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {projects.data.items.map((project) => (
                <Table.Tr key={project.id}>
                  <Table.Td>
                    <AnchorLink
                      to="/projects/$projectId/issues"
                      params={{ projectId: project.id }}
                      fw={600}
                    >
                      {project.name}
                    </AnchorLink>
                    {project.description && (
                      <Text size="xs" c="dimmed" lineClamp={1}>
                        {project.description}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{project.repository_url}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{project.default_branch}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="outline" color={project.enabled ? "#1e6a2e" : "gray.8"}>
                      {project.enabled ? "enabled" : "disabled"}
                    </Badge>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Pager
          total={projects.data?.total ?? 0}
          pageSize={PAGE_SIZE}
          page={page}
          onChange={(next) =>
            void navigate({
              search: { ...(q ? { q } : {}), ...(next > 1 ? { page: next } : {}) },
            })
          }
        />
      </Stack>
    </>
  );
}
