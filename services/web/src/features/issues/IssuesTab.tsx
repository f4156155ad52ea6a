import { Text } from "@mantine/core";
import { useParams } from "@tanstack/react-router";

/**
 * The project's Issues tab. Placeholder: the Issues pages are built on the web-pages branch
 * (features/issues/, queries in api/issues.ts); this route and tab already exist for them.
 */
export function IssuesTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/issues" });
  return (
    <Text c="dimmed" data-project-id={projectId}>
      The issues of this project will be listed here.
    </Text>
  );
}
