import { Badge, Button, Group, NativeSelect, Skeleton, Stack, Table, Text } from "@mantine/core";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { useMe } from "@/api/auth";
import { useProject } from "@/api/projects";
import { PULLS_PAGE_SIZE, usePulls } from "@/api/pulls";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { Pager } from "@/components/Pager";
import { PULL_STATES, REVIEW_STATUSES, reviewStatusOf, stateOf } from "@/features/pulls/labels";
import type { PullsSearch } from "@/features/pulls/search";
import { TrackPullModal } from "@/features/pulls/TrackPullModal";
import { formatDate } from "@/lib/format";
import { projectPermissions } from "@/lib/permissions";

const ANY = "";

/** The project's tracked pull requests: filters and page in the URL, track one by hand. */
export function PullsTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/pulls" });
  const search = useSearch({ from: "/app/projects/$projectId/pulls" });
  const navigate = useNavigate({ from: "/projects/$projectId/pulls" });
  const project = useProject(projectId);
  const me = useMe();
  const pulls = usePulls(projectId, search);
  const [tracking, setTracking] = useState(false);
  const canEdit = project.data ? projectPermissions(project.data, me.data).canWriteIssues : false;
  const filtered = !!(search.state || search.review);
  // A new filter starts again at the first page.
  const setFilter = (change: Partial<PullsSearch>) =>
    void navigate({ search: { ...search, ...change, page: undefined } });

  return (
    <Stack gap="md">
      <Group justify="space-between" align="flex-end" wrap="wrap">
        <Group align="flex-end" wrap="wrap">
          <NativeSelect
            label="State"
            value={search.state ?? ANY}
            data={[{ value: ANY, label: "Any state" }, ...PULL_STATES]}
            onChange={(e) =>
              setFilter({
                state: (e.currentTarget.value || undefined) as PullsSearch["state"],
              })
            }
            w={180}
          />
          <NativeSelect
            label="Review status"
            value={search.review ?? ANY}
            data={[{ value: ANY, label: "Any review status" }, ...REVIEW_STATUSES]}
            onChange={(e) =>
              setFilter({
                review: (e.currentTarget.value || undefined) as PullsSearch["review"],
              })
            }
            w={220}
          />
        </Group>
        {canEdit && project.data && (
          <Button onClick={() => setTracking(true)}>Track a pull request</Button>
        )}
      </Group>
      {project.data && (
        <TrackPullModal
          projectId={projectId}
          defaultBranch={project.data.default_branch}
          opened={tracking}
          onClose={() => setTracking(false)}
          onTracked={(pull) => {
            setTracking(false);
            void navigate({
              to: "/projects/$projectId/pulls/$pullId",
              params: { projectId, pullId: pull.id },
            });
          }}
        />
      )}
      {pulls.isPending && <Skeleton h={160} />}
      {pulls.isError && <ErrorView error={pulls.error} onRetry={() => pulls.refetch()} />}
      {pulls.data && pulls.data.items.length === 0 && (
        <Text>
          {filtered
            ? "No pull request matches these filters."
            : "No pull requests are tracked yet: GitHub's webhook tracks them as they open" +
              (canEdit ? ", or track one by hand." : ".")}
        </Text>
      )}
      {pulls.data && pulls.data.items.length > 0 && (
        <Table striped highlightOnHover verticalSpacing="xs" captionSide="top">
          <Table.Caption>
            {pulls.data.total} pull request{pulls.data.total === 1 ? "" : "s"}
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Number</Table.Th>
              <Table.Th scope="col">Title</Table.Th>
              <Table.Th scope="col">State</Table.Th>
              <Table.Th scope="col">Review</Table.Th>
              <Table.Th scope="col">Branches</Table.Th>
              <Table.Th scope="col">Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {pulls.data.items.map((pull) => {
              const state = stateOf(pull.state);
              const review = reviewStatusOf(pull.review_status);
              return (
                <Table.Tr key={pull.id}>
                  <Table.Td>#{pull.number}</Table.Td>
                  <Table.Td>
                    <AnchorLink
                      to="/projects/$projectId/pulls/$pullId"
                      params={{ projectId, pullId: pull.id }}
                      fw={600}
                    >
                      {pull.title}
                    </AnchorLink>
                    {pull.author && (
                      <Text size="xs" c="dimmed">
                        by {pull.author}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="outline" color={state.color}>
                      {state.label}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="outline" color={review.color}>
                      {review.label}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">
                      {pull.head_ref || "?"} → {pull.base_ref || "?"}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDate(pull.updated_at)}</Text>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      <Pager
        total={pulls.data?.total ?? 0}
        pageSize={PULLS_PAGE_SIZE}
        page={search.page ?? 1}
        onChange={(next) =>
          void navigate({ search: { ...search, page: next > 1 ? next : undefined } })
        }
      />
    </Stack>
  );
}
