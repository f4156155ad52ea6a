import { Badge, Card, Group, SimpleGrid, Skeleton, Stack, Text, Title } from "@mantine/core";
import { useMe } from "@/api/auth";
import { useMyOpenIssues } from "@/api/issues";
import { useProjects } from "@/api/projects";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { PageHeader } from "@/components/PageHeader";

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
  return (
    <Card withBorder component="section" aria-labelledby="home-issues">
      <Title order={2} size="h4" id="home-issues" mb="sm">
        Open issues in my projects
      </Title>
      {issues.isPending && <Skeleton h={80} />}
      {issues.isError && <ErrorView error={issues.error} onRetry={() => issues.refetch()} />}
      {issues.data && issues.data.items.length === 0 && <Text size="sm">No open issues.</Text>}
      <Stack gap={6}>
        {issues.data?.items.map((issue) => (
          <Group key={issue.id} gap="xs" wrap="nowrap">
            <Badge variant="outline" color="dark" size="sm">
              {issue.priority}
            </Badge>
            <AnchorLink
              to="/projects/$projectId/issues"
              params={{ projectId: issue.project_id }}
              size="sm"
              lineClamp={1}
            >
              {issue.title}
            </AnchorLink>
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
