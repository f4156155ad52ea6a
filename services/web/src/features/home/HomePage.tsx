import { Card, Group, SimpleGrid, Skeleton, Stack, Text, Title } from "@mantine/core";
import { useMe } from "@/api/auth";
import { useMyOpenIssues } from "@/api/issues";
import { useProjects } from "@/api/projects";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { PageHeader } from "@/components/PageHeader";
import { PriorityBadge } from "@/features/issues/badges";

function MyProjects() {
  const projects = useProjects("", 1, 8);
  return (
    <Card withBorder component="section" aria-labelledby="home-projects">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4" id="home-projects">
          My projects
        </Title>
        <AnchorLink to="/projects" size="sm">
          All projects
        </AnchorLink>
      </Group>
      {projects.isPending && <Skeleton h={80} />}
      {projects.isError && <ErrorView error={projects.error} onRetry={() => projects.refetch()} />}
      {projects.data && projects.data.items.length === 0 && (
        <Text size="sm">
          No projects yet.{" "}
          <AnchorLink to="/projects" search={{}}>
            Register a repository
          </AnchorLink>{" "}
          to start.
        </Text>
      )}
      <Stack gap={6}>
        {projects.data?.items.map((project) => (
          <AnchorLink
            key={project.id}
            to="/projects/$projectId/issues"
            params={{ projectId: project.id }}
          >
            {project.name}
          </AnchorLink>
        ))}
      </Stack>
    </Card>
  );
}

function MyOpenIssues() {
  const issues = useMyOpenIssues(10);
  // Issues carry their project's id only; the names come from the caller's projects.
  const projects = useProjects("", 1, 100);
  const projectName = new Map(projects.data?.items.map((p) => [p.id, p.name]));
  return (
    <Card withBorder component="section" aria-labelledby="home-issues">
      <Title order={2} size="h4" id="home-issues">
        Open issues in my projects
      </Title>
      {/* The API knows whose projects an issue is in, not who should work on it: "mine" are
          the open issues of every project I can see, the most urgent first. */}
      <Text size="xs" c="dimmed" mb="sm">
        Most urgent first, across the projects you can see.
      </Text>
      {issues.isPending && <Skeleton h={80} />}
      {issues.isError && <ErrorView error={issues.error} onRetry={() => issues.refetch()} />}
      {issues.data && issues.data.items.length === 0 && <Text size="sm">No open issues.</Text>}
      <Stack gap={6}>
        {issues.data?.items.map((issue) => (
          <Group key={issue.id} gap="xs" wrap="nowrap">
            <PriorityBadge priority={issue.priority} w={84} />
            <AnchorLink
              to="/projects/$projectId/issues/$issueId"
              params={{ projectId: issue.project_id, issueId: issue.id }}
              size="sm"
              lineClamp={1}
            >
              {issue.title}
            </AnchorLink>
            {projectName.has(issue.project_id) && (
              <Text size="xs" c="dimmed" lineClamp={1} miw={60}>
                {projectName.get(issue.project_id)}
              </Text>
            )}
          </Group>
        ))}
      </Stack>
      {issues.data && issues.data.total > issues.data.items.length && (
        <Text size="xs" c="dimmed" mt="xs">
          {issues.data.total} open in all.
        </Text>
      )}
    </Card>
  );
}

function RecentRuns() {
  return (
    <Card withBorder component="section" aria-labelledby="home-runs">
      <Title order={2} size="h4" id="home-runs" mb="sm">
        Recent agent runs
      </Title>
      <Text size="sm" c="dimmed">
        Agent runs will appear here once the Agents pages arrive.
      </Text>
    </Card>
  );
}

export function HomePage() {
  const me = useMe();
  return (
    <>
      <PageHeader title={me.data ? `Welcome, ${me.data.full_name || me.data.username}` : "Home"} />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <MyProjects />
        <MyOpenIssues />
        <RecentRuns />
      </SimpleGrid>
    </>
  );
}
