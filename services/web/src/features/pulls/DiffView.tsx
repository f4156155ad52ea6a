import "./diff.css";
import { Badge, Card, Group, Stack, Text, Title } from "@mantine/core";
import type { DiffFileOut, DiffLineOut } from "@/client/types.gen";
import { Markdown } from "@/components/Markdown";
import type { FileView, ReviewComment } from "@/features/pulls/diff";
import { SEVERITY_COLOR } from "@/features/pulls/labels";

const MARKER: Record<DiffLineOut["kind"], { sign: string; spoken: string }> = {
  add: { sign: "+", spoken: "added" },
  delete: { sign: "-", spoken: "deleted" },
  context: { sign: " ", spoken: "unchanged" },
};

/** One review comment: severity, rule, whether it is new, and the message (Markdown). */
export function CommentCard({ comment }: { comment: ReviewComment }) {
  return (
    <Card
      withBorder
      padding="xs"
      radius="sm"
      className="swe-comment"
      data-severity={comment.severity}
      data-testid="review-comment"
    >
      <Group gap={6} mb={4} wrap="wrap">
        <Badge variant="outline" color={SEVERITY_COLOR[comment.severity]} size="sm">
          {comment.severity}
        </Badge>
        {comment.rule && (
          <Text span size="xs" ff="monospace">
            {comment.rule}
          </Text>
        )}
        {comment.category && (
          <Text span size="xs" c="dimmed">
            {comment.category}
          </Text>
        )}
        <Text span size="xs" c="dimmed">
          {comment.isNew ? "new in this pull request" : "already there at the base"}
        </Text>
      </Group>
      <Markdown>{comment.message}</Markdown>
      {comment.suggestion && (
        <Text size="sm" mt={4}>
          Suggestion: {comment.suggestion}
        </Text>
      )}
    </Card>
  );
}

function fileNote(file: DiffFileOut): string | null {
  if (file.omitted === "binary") return "Binary file: its changes are not shown.";
  if (file.omitted === "too_large") return "Too large to show here.";
  if (file.omitted === "limit") return "Not shown: the diff reached its size limit before it.";
  if (file.truncated) return "Only the first changed lines of this file are shown.";
  if (file.hunks.length === 0) return "No changed lines to show (a mode change or an empty file).";
  return null;
}

function FileHeader({ view, id, comments }: { view: FileView; id: string; comments: boolean }) {
  const file = view.file;
  return (
    <Group justify="space-between" wrap="wrap" gap="xs" mb="xs">
      <Title order={3} size="h5" id={id} className="swe-diff-path">
        {file?.old_path ? `${file.old_path} → ${view.path}` : view.path}
      </Title>
      <Group gap="xs">
        {file && (
          <Badge variant="outline" color="dark" size="sm">
            {file.status}
          </Badge>
        )}
        {file && file.additions !== null && (
          <Text span size="sm" aria-label={`${file.additions} added, ${file.deletions} deleted`}>
            +{file.additions} −{file.deletions}
          </Text>
        )}
        {comments && (
          <Text span size="sm">
            {view.commentCount} comment{view.commentCount === 1 ? "" : "s"}
          </Text>
        )}
      </Group>
    </Group>
  );
}

function LineRows({ line, comments }: { line: DiffLineOut; comments: ReviewComment[] }) {
  const marker = MARKER[line.kind];
  return (
    <>
      <tr className="swe-diff-line" data-kind={line.kind} data-line-new={line.new ?? undefined}>
        <td className="swe-diff-num">{line.old ?? ""}</td>
        <td className="swe-diff-num">{line.new ?? ""}</td>
        <td className="swe-diff-code">
          <span aria-hidden="true" className="swe-diff-sign">
            {marker.sign}
          </span>
          <span className="sr-only">{marker.spoken}: </span>
          {line.text}
          {line.truncated && <span className="swe-diff-cut"> … (line cut)</span>}
        </td>
      </tr>
      {comments.length > 0 && (
        <tr className="swe-diff-comments" data-comments-for={line.new ?? undefined}>
          <td colSpan={3}>
            <Stack gap={6}>
              {comments.map((comment) => (
                <CommentCard key={comment.key} comment={comment} />
              ))}
            </Stack>
          </td>
        </tr>
      )}
    </>
  );
}

/**
 * One file: its hunks with the comments under their lines, then the comments outside them.
 * `comments` false: a diff no review commented on (no comment count in its header).
 */
export function FileDiff({
  view,
  index,
  comments = true,
}: {
  view: FileView;
  index: number;
  comments?: boolean;
}) {
  const id = `diff-file-${index}`;
  const note = view.file ? fileNote(view.file) : "This file is not in the kept diff.";
  return (
    <Card
      withBorder
      component="section"
      aria-labelledby={id}
      data-testid="diff-file"
      data-path={view.path}
    >
      <FileHeader view={view} id={id} comments={comments} />
      {note && (
        <Text size="sm" c="dimmed" mb="xs">
          {note}
        </Text>
      )}
      {view.hunks.length > 0 && (
        <table className="swe-diff">
          <caption className="sr-only">Changes in {view.path}</caption>
          <thead className="sr-only">
            <tr>
              <th scope="col">Old line</th>
              <th scope="col">New line</th>
              <th scope="col">Code</th>
            </tr>
          </thead>
          <tbody>
            {view.hunks.map((placed) => {
              const h = placed.hunk;
              return [
                <tr className="swe-diff-hunk" key={`h${h.old_start}-${h.new_start}`}>
                  <td colSpan={3}>
                    @@ -{h.old_start},{h.old_lines} +{h.new_start},{h.new_lines} @@ {h.section}
                  </td>
                </tr>,
                // A line's numbers name it within its file (an added line has no old one).
                ...placed.lines.map((p) => (
                  <LineRows
                    key={`${p.line.kind}${p.line.old ?? ""}:${p.line.new ?? ""}`}
                    line={p.line}
                    comments={p.comments}
                  />
                )),
              ];
            })}
          </tbody>
        </table>
      )}
      {view.outside.length > 0 && (
        <Stack gap={6} mt="sm" data-testid="comments-outside">
          <Text size="sm" fw={600}>
            {view.file && view.hunks.length > 0
              ? "Comments on lines the shown diff does not include"
              : "Comments on this file"}
          </Text>
          {view.outside.map((comment) => (
            <Stack key={comment.key} gap={2}>
              <Text size="xs">{comment.line ? `Line ${comment.line}` : "No line"}</Text>
              <CommentCard comment={comment} />
            </Stack>
          ))}
        </Stack>
      )}
    </Card>
  );
}

export function DiffView({ views, comments = true }: { views: FileView[]; comments?: boolean }) {
  return (
    <Stack gap="md">
      {views.map((view, index) => (
        <FileDiff key={view.path} view={view} index={index} comments={comments} />
      ))}
    </Stack>
  );
}
