import { Badge, Group, Skeleton, Text } from "@mantine/core";
import { Outlet, useParams, useRouterState } from "@tanstack/react-router";
import { useMe } from "@/api/auth";
import { useProject } from "@/api/projects";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink, ButtonLink } from "@/components/links";
import { NotFoundView } from "@/components/NotFoundView";
import { PageHeader } from "@/components/PageHeader";
import { ApiError } from "@/lib/errors";
import { projectPermissions } from "@/lib/permissions";

/** The project's sections; Issues and Pull requests are built on the web-pages branch. */
const TABS = [
  { label: "Issues", to: "/projects/$projectId/issues", segment: "issues" },
  { label: "Pull requests", to: "/projects/$projectId/pulls", segment: "pulls" },
  { label: "Agents", to: "/projects/$projectId/agents", segment: "agents" },
  { label: "Runs", to: "/projects/$projectId/runs", segment: "runs" },
  { label: "Members", to: "/projects/$projectId/members", segment: "members" },
  { label: "Settings", to: "/projects/$projectId/settings", segment: "settings" },
] as const;

const RELATION_LABEL = {
  admin: "admin",
  owner: "owner",
  maintainer: "maintainer",
  viewer: "viewer",
  none: "no role",
} as const;

export function ProjectLayout() {
  const { projectId } = useParams({ from: "/app/projects/$projectId" });
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const project = useProject(projectId);
  const me = useMe();

  if (project.isPending) return <Skeleton h={120} />;
  if (project.isError) {
    const status = project.error instanceof ApiError ? project.error.status : 0;
    // A project one may not see answers 404 exactly like one that does not exist.
    if (status === 404 || status === 422)
      return <NotFoundView what="project" error={project.error} />;
    return <ErrorView error={project.error} onRetry={() => project.refetch()} />;
  }
  const permissions = projectPermissions(project.data, me.data);
  const current = TABS.find((tab) => pathname.endsWith(`/${tab.segment}`)) ?? TABS[0];

  return (
    <>
      <PageHeader
        title={project.data.name}
        crumbs={[
          { label: "Home", to: "/" },
          { label: "Projects", to: "/projects" },
          { label: project.data.name, to: `/projects/${projectId}/issues` },
          { label: current.label },
        ]}
        description={
          <Group gap="xs" component="span">
            <Text span size="sm">
              {project.data.repository_url} · {project.data.default_branch}
            </Text>
            <Badge variant="outline" color="dark" size="sm">
              your role: {RELATION_LABEL[permissions.relation]}
            </Badge>
          </Group>
        }
        actions={
          <ButtonLink variant="default" to="/analytics/projects/$projectId" params={{ projectId }}>
            Analytics
          </ButtonLink>
        }
      />
      <nav aria-label="Project sections" className="swe-tabs">
        {TABS.map((tab) => (
          <AnchorLink
            key={tab.segment}
            to={tab.to}
            params={{ projectId }}
            className="swe-tab"
            data-active={tab === current || undefined}
            aria-current={tab === current ? "page" : undefined}
          >
            {tab.label}
          </AnchorLink>
        ))}
      </nav>
      <Outlet />
    </>
  );
}
