import { Text } from "@mantine/core";
import { useParams } from "@tanstack/react-router";

/**
 * The project's Pull requests tab. Placeholder: built on the web-pages branch
 * (features/pulls/); this route and tab already exist for it.
 */
export function PullsTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/pulls" });
  return (
    <Text c="dimmed" data-project-id={projectId}>
      The pull requests of this project will be listed here.
    </Text>
  );
}
