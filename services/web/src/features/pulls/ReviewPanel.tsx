import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Group,
  Loader,
  NativeSelect,
  Skeleton,
  Stack,
  Table,
  Text,
} from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { pullKeys, useRequestReview, useReviews, useRunDiff } from "@/api/pulls";
import type { PullRequestOut, ReviewLevel, ReviewOut } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { Section } from "@/components/Section";
import { ApiError } from "@/lib/errors";
import { formatDate } from "@/lib/format";
import { DiffView } from "./DiffView";
import { placeComments, readComments, SEVERITIES, type Severity, severityCounts } from "./diff";
import { REVIEW_LEVELS, SEVERITY_COLOR, shortSha, verdictOf } from "./labels";

function RequestReview({ pull }: { pull: PullRequestOut }) {
  const request = useRequestReview(pull.id);
  const [level, setLevel] = useState<ReviewLevel>("standard");
  if (pull.state !== "open") {
    return <Text size="sm">Only open pull requests are reviewed; this one is {pull.state}.</Text>;
  }
  return (
    <Stack gap="xs">
      <Group align="flex-end" wrap="wrap">
        <NativeSelect
          label="Review level"
          data={REVIEW_LEVELS}
          value={level}
          onChange={(e) => setLevel(e.currentTarget.value as ReviewLevel)}
          w={360}
        />
        <Button loading={request.isPending} onClick={() => request.mutate(level)}>
          Request review
        </Button>
      </Group>
      {request.error ? <ErrorView error={request.error} /> : null}
    </Stack>
  );
}

function who(review: ReviewOut): string {
  return review.requested_by ? "a project member" : "automatically (project settings)";
}

function Pending({ review }: { review: ReviewOut }) {
  return (
    <Alert color="blue" variant="light" role="status" title="Review in progress">
      <Group gap="xs" wrap="nowrap">
        <Loader size="xs" aria-hidden="true" />
        <Text size="sm">
          A {review.level} review was requested {formatDate(review.requested_at)}, {who(review)}.
          This page updates by itself when it finishes.
        </Text>
      </Group>
    </Alert>
  );
}

function SeverityFilter({
  counts,
  value,
  onChange,
}: {
  counts: Record<Severity, number>;
  value: Severity[];
  onChange: (value: Severity[]) => void;
}) {
  return (
    <Checkbox.Group
      label="Show comments of severity"
      value={value}
      onChange={(next) => onChange(next as Severity[])}
    >
      <Group gap="md" mt={6} wrap="wrap">
        {SEVERITIES.map((severity) => (
          <Checkbox
            key={severity}
            value={severity}
            color={SEVERITY_COLOR[severity]}
            label={`${severity} (${counts[severity]})`}
          />
        ))}
      </Group>
    </Checkbox.Group>
  );
}

function ReviewResult({ review }: { review: ReviewOut }) {
  const comments = useMemo(() => readComments(review.comments), [review.comments]);
  const [severities, setSeverities] = useState<Severity[]>([...SEVERITIES]);
  const diff = useRunDiff(review.status === "completed" ? review.run_id : null);
  const noDiff =
    !review.run_id || (diff.error instanceof ApiError && [404, 409].includes(diff.error.status));
  const views = useMemo(
    () => placeComments(diff.data?.files ?? null, comments, new Set(severities)),
    [diff.data, comments, severities],
  );
  if (review.status !== "completed") {
    return (
      <Alert color="red" variant="light" title={`The ${review.level} review ${review.status}`}>
        <Text size="sm">{review.error || "The review did not finish."}</Text>
      </Alert>
    );
  }
  const verdict = verdictOf(review.approval);
  return (
    <Stack gap="md">
      <Group gap="md" wrap="wrap">
        <Badge size="lg" variant="outline" color={verdict.color} data-testid="review-verdict">
          {verdict.label}
        </Badge>
        {review.quality_score !== null && (
          <Text size="sm" fw={600}>
            Quality score {review.quality_score.toFixed(1)} / 100
          </Text>
        )}
        <Text size="sm" c="dimmed">
          {review.level} review of {shortSha(review.head_sha ?? diff.data?.head_sha)}, finished{" "}
          {formatDate(review.completed_at)}
        </Text>
      </Group>
      {review.summary && <Text size="sm">{review.summary}</Text>}
      {comments.length > 0 ? (
        <SeverityFilter
          counts={severityCounts(comments)}
          value={severities}
          onChange={setSeverities}
        />
      ) : (
        <Text size="sm">No comments: nothing to flag on the changed lines.</Text>
      )}
      {diff.isLoading && <Skeleton h={200} />}
      {diff.isError && !noDiff && <ErrorView error={diff.error} onRetry={() => diff.refetch()} />}
      {noDiff && comments.length > 0 && (
        <Text size="sm" c="dimmed">
          This review kept no diff: its comments are listed by file.
        </Text>
      )}
      {diff.data?.truncated && (
        <Text size="sm" c="dimmed">
          The diff is large: parts of it are not shown (files at most{" "}
          {diff.data.limits.max_lines_per_file} lines each, {diff.data.files.length} of{" "}
          {diff.data.files_total} files listed).
        </Text>
      )}
      {(diff.data || noDiff) && <DiffView views={views} />}
    </Stack>
  );
}

function History({
  reviews,
  shown,
  onShow,
}: {
  reviews: ReviewOut[];
  shown: string | null;
  onShow: (id: string) => void;
}) {
  return (
    <Table verticalSpacing="xs" striped captionSide="top">
      <Table.Caption>Newest first</Table.Caption>
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Requested</Table.Th>
          <Table.Th scope="col">Level</Table.Th>
          <Table.Th scope="col">Status</Table.Th>
          <Table.Th scope="col">Verdict</Table.Th>
          <Table.Th scope="col">Quality</Table.Th>
          <Table.Th scope="col">Comments</Table.Th>
          <Table.Th scope="col">Result</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {reviews.map((review) => (
          <Table.Tr key={review.id}>
            <Table.Td>
              <Text size="sm">{formatDate(review.requested_at)}</Text>
              <Text size="xs" c="dimmed">
                {who(review)}
              </Text>
            </Table.Td>
            <Table.Td>{review.level}</Table.Td>
            <Table.Td>{review.status}</Table.Td>
            <Table.Td>
              {review.status === "completed" ? verdictOf(review.approval).label : ""}
            </Table.Td>
            <Table.Td>{review.quality_score?.toFixed(1) ?? ""}</Table.Td>
            <Table.Td>{review.status === "completed" ? review.comments.length : ""}</Table.Td>
            <Table.Td>
              {review.status === "pending" ? (
                ""
              ) : review.id === shown ? (
                <Text size="sm">shown above</Text>
              ) : (
                <Button size="compact-sm" variant="default" onClick={() => onShow(review.id)}>
                  Show
                </Button>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** Request a review, see it run, read its result on the diff, and earlier reviews. */
export function ReviewPanel({ pull, canEdit }: { pull: PullRequestOut; canEdit: boolean }) {
  const reviews = useReviews(pull.id);
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState<string | null>(null);
  const status = reviews.data?.latest?.status;
  const before = useRef(status);
  useEffect(() => {
    // A review just finished: the pull request's review status changed with it.
    if (before.current === "pending" && status && status !== "pending") {
      void queryClient.invalidateQueries({ queryKey: pullKeys.detail(pull.id), exact: true });
      void queryClient.invalidateQueries({ queryKey: ["pulls", "list"] });
    }
    before.current = status;
  }, [status, pull.id, queryClient]);

  if (reviews.isPending) return <Skeleton h={160} />;
  if (reviews.isError) return <ErrorView error={reviews.error} onRetry={() => reviews.refetch()} />;
  const { latest, latest_result: latestResult, history } = reviews.data;
  const shown = history.find((r) => r.id === selected && r.status !== "pending") ?? latestResult;

  return (
    <Stack gap="md">
      <Section id="pull-review" title="Review">
        <Stack gap="md">
          {canEdit && <RequestReview pull={pull} />}
          {latest?.status === "pending" && <Pending review={latest} />}
          {!shown && latest?.status !== "pending" && (
            <Text size="sm">
              Not reviewed yet.
              {canEdit ? " Choose a level and request a review." : ""}
            </Text>
          )}
          {shown && <ReviewResult key={shown.id} review={shown} />}
        </Stack>
      </Section>
      {history.length > 0 && (
        <Section id="pull-review-history" title="Review history">
          <History reviews={history} shown={shown?.id ?? null} onShow={setSelected} />
        </Section>
      )}
    </Stack>
  );
}
