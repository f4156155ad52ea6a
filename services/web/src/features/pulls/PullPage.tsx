import {
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Skeleton,
  Stack,
  Table,
  Text,
} from "@mantine/core";
import { useNavigate, useParams } from "@tanstack/react-router";
import type { ReactNode } from "react";
import { useState } from "react";
import { useMe } from "@/api/auth";
import { useProject } from "@/api/projects";
import { usePull, useSyncPull, useUntrackPull } from "@/api/pulls";
import type { PullRequestOut } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { NotFoundView } from "@/components/NotFoundView";
import { PageHeader } from "@/components/PageHeader";
import { CommentsSection } from "@/features/comments/CommentsSection";
import { commentRights } from "@/features/comments/rights";
import { EditPullModal } from "@/features/pulls/EditPullModal";
import { reviewStatusOf, stateOf } from "@/features/pulls/labels";
import { ReviewPanel } from "@/features/pulls/ReviewPanel";
import { ApiError } from "@/lib/errors";
import { formatDate } from "@/lib/format";
import { projectPermissions } from "@/lib/permissions";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th scope="row" w={160}>
        {label}
      </Table.Th>
      <Table.Td>{children}</Table.Td>
    </Table.Tr>
  );
}

function safeUrl(url: string | null): string | null {
  return url && /^https:\/\//i.test(url) ? url : null;
}

function Details({ pull }: { pull: PullRequestOut }) {
  const state = stateOf(pull.state);
  const review = reviewStatusOf(pull.review_status);
  const url = safeUrl(pull.url);
  return (
    <Card withBorder component="section" aria-label="Pull request details">
      <Table verticalSpacing={4} withRowBorders={false}>
        <Table.Tbody>
          <Row label="State">
            <Badge variant="outline" color={state.color}>
              {state.label}
            </Badge>
          </Row>
          <Row label="Review">
            <Badge variant="outline" color={review.color} data-testid="pull-review-status">
              {review.label}
            </Badge>
          </Row>
          <Row label="Author">{pull.author || "—"}</Row>
          <Row label="Branches">
            <Code>{pull.head_ref || "?"}</Code> into <Code>{pull.base_ref || "?"}</Code>
          </Row>
          <Row label="Head commit">
            {pull.head_sha ? <Code>{pull.head_sha}</Code> : "the head branch's tip"}
          </Row>
          <Row label="Base commit">
            {pull.base_sha ? <Code>{pull.base_sha}</Code> : "the base branch's tip"}
          </Row>
          {url && (
            <Row label="On GitHub">
              <Anchor href={url} target="_blank" rel="noopener noreferrer nofollow">
                {url}
              </Anchor>
            </Row>
          )}
          <Row label="Tracked">{formatDate(pull.created_at)}</Row>
          <Row label="Updated">{formatDate(pull.updated_at)}</Row>
        </Table.Tbody>
      </Table>
    </Card>
  );
}

/** ``full``: sync and untrack too (issues.write); else only editing (an assignee). */
function Actions({
  pull,
  projectId,
  full,
}: {
  pull: PullRequestOut;
  projectId: string;
  full: boolean;
}) {
  const sync = useSyncPull(pull.id);
  const untrack = useUntrackPull(pull.id);
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  return (
    <Stack gap="xs" align="flex-end">
      <Group gap="xs">
        {full && (
          <Button variant="default" loading={sync.isPending} onClick={() => sync.mutate()}>
            Sync from GitHub
          </Button>
        )}
        <Button variant="default" onClick={() => setEditing(true)}>
          Edit
        </Button>
        {full && (
          <ConfirmButton
            label="Untrack"
            title={`Stop tracking #${pull.number}?`}
            message="The pull request and its review history are removed from this project. GitHub's webhook tracks it again on its next event."
            confirmLabel="Untrack"
            pending={untrack.isPending}
            error={untrack.error}
            onConfirm={async () => {
              await untrack.mutateAsync();
              await navigate({ to: "/projects/$projectId/pulls", params: { projectId } });
            }}
          />
        )}
      </Group>
      {sync.error ? <ErrorView error={sync.error} /> : null}
      {sync.isSuccess && (
        <Text size="sm" role="status">
          Synced from GitHub.
        </Text>
      )}
      <EditPullModal pull={pull} opened={editing} onClose={() => setEditing(false)} />
    </Stack>
  );
}

/** A tracked pull request: what is known of it, its reviews, and the latest one on its diff. */
export function PullPage() {
  const { projectId, pullId } = useParams({ from: "/app/projects/$projectId/pulls/$pullId" });
  const pull = usePull(pullId);
  const project = useProject(projectId);
  const me = useMe();

  if (pull.isPending || project.isPending) return <Skeleton h={200} />;
  const failed = pull.error ?? project.error;
  if (failed) {
    const status = failed instanceof ApiError ? failed.status : 0;
    if (status === 404 || status === 422)
      return <NotFoundView what="pull request" error={failed} />;
    return (
      <ErrorView
        error={failed}
        onRetry={() => {
          void pull.refetch();
          void project.refetch();
        }}
      />
    );
  }
  if (!pull.data || !project.data || pull.data.project_id !== projectId) {
    return <NotFoundView what="pull request" />;
  }
  const { canWriteIssues, canUpdate, canRequestReviews } = projectPermissions(
    project.data,
    me.data,
  );
  const data = pull.data;
  return (
    <>
      <PageHeader
        title={`#${data.number} ${data.title}`}
        crumbs={[
          { label: "Home", to: "/" },
          { label: "Projects", to: "/projects" },
          { label: project.data.name, to: `/projects/${projectId}/issues` },
          { label: "Pull requests", to: `/projects/${projectId}/pulls` },
          { label: `#${data.number}` },
        ]}
        description={`In ${project.data.name}`}
        actions={
          canUpdate(data) ? (
            <Actions pull={data} projectId={projectId} full={canWriteIssues} />
          ) : undefined
        }
      />
      <Stack gap="md">
        <Details pull={data} />
        <ReviewPanel pull={data} canEdit={canRequestReviews} />
        <CommentsSection
          target={{ kind: "pull", id: data.id }}
          rights={commentRights(project.data, me.data, data)}
          myId={me.data?.id}
        />
      </Stack>
    </>
  );
}
