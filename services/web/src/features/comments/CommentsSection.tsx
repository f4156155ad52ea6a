/**
 * The comments on an issue or a pull request: the thread oldest first (author, how long ago —
 * the exact time on hover — and an "edited" marker), each body as plain text with its line
 * breaks (React escapes it: markup in a comment is shown, never run), "Load more" while the
 * server has more, and for those who may comment a form (Ctrl/⌘+Enter sends). Authors edit and
 * delete their own comments; owners, maintainers and administrators delete anyone's. Those who
 * may not comment read the thread and are told why.
 */
import { zodResolver } from "@hookform/resolvers/zod";
import {
  Button,
  Card,
  Group,
  Skeleton,
  Stack,
  Text,
  Textarea,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { type KeyboardEvent, type ReactNode, useEffect, useId, useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import {
  COMMENT_MAX_LENGTH,
  type CommentTarget,
  useComments,
  useDeleteComment,
  useEditComment,
  usePostComment,
} from "@/api/comments";
import type { CommentOut } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import type { CommentRights } from "@/features/comments/rights";
import { formatDate, formatRelative } from "@/lib/format";
import { applyServerErrors } from "@/lib/forms";

const commentSchema = z.object({
  body: z
    .string()
    .refine((value) => value.trim().length > 0, "Write something first")
    // The service drops surrounding blanks before it counts.
    .refine(
      (value) => value.trim().length <= COMMENT_MAX_LENGTH,
      `At most ${COMMENT_MAX_LENGTH.toLocaleString("en-US")} characters`,
    ),
});
type CommentValues = z.infer<typeof commentSchema>;
const COMMENT_FIELDS = ["body"] as const;
const BODY_STYLE = { whiteSpace: "pre-wrap", overflowWrap: "anywhere" } as const;

/** Ctrl+Enter (⌘+Enter on a Mac) sends the form the field is in. */
function submitOnModEnter(submit: () => void) {
  return (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  };
}

/**
 * Moves the keyboard focus to the element `id` once it is on the page, and, with `gone`, only
 * once that element has left it (a deleted comment: its dialog would otherwise hand the focus
 * back to its Delete button, which then disappears).
 */
function usePendingFocus() {
  const [pending, setPending] = useState<{ id: string; gone?: string } | null>(null);
  useEffect(() => {
    if (!pending) return;
    if (pending.gone && document.getElementById(pending.gone)) return;
    const element = document.getElementById(pending.id);
    if (element) {
      element.focus();
      setPending(null);
    }
  });
  return setPending;
}

const articleId = (comment: CommentOut) => `comment-${comment.id}`;

/** The time now, renewed every minute: "just now" becomes "1 minute ago" on its own. */
function useMinute(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 60_000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

function Timestamps({ comment, now }: { comment: CommentOut; now: number }) {
  return (
    <>
      <Text size="xs" c="dimmed" component="span">
        <time dateTime={comment.created_at} title={formatDate(comment.created_at)}>
          {formatRelative(comment.created_at, now)}
        </time>
      </Text>
      {comment.edited && (
        <Text
          size="xs"
          c="dimmed"
          component="span"
          title={`Edited ${formatDate(comment.updated_at)}`}
          data-testid="comment-edited"
        >
          · edited
        </Text>
      )}
    </>
  );
}

function EditComment({
  target,
  comment,
  onDone,
}: {
  target: CommentTarget;
  comment: CommentOut;
  onDone: (saved: boolean) => void;
}) {
  const edit = useEditComment(target, comment.id);
  const form = useForm<CommentValues>({
    resolver: zodResolver(commentSchema),
    defaultValues: { body: comment.body },
  });
  // The editor opens with the focus in it.
  useEffect(() => form.setFocus("body"), [form]);
  const onSubmit = form.handleSubmit(async (values) => {
    if (edit.isPending) return;
    try {
      await edit.mutateAsync(values.body);
      onDone(true);
    } catch (caught) {
      applyServerErrors(caught, form.setError, COMMENT_FIELDS);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="xs">
        <Textarea
          label="Edit your comment"
          autosize
          minRows={2}
          maxRows={16}
          {...form.register("body")}
          onKeyDown={(event) => {
            if (event.key === "Escape") {
              event.preventDefault();
              onDone(false);
            } else submitOnModEnter(() => void onSubmit())(event);
          }}
          error={form.formState.errors.body?.message}
        />
        <FormError error={edit.error} fields={COMMENT_FIELDS} />
        <Group gap="xs">
          <Button type="submit" size="xs" loading={edit.isPending}>
            Save
          </Button>
          <Button size="xs" variant="default" onClick={() => onDone(false)}>
            Cancel
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function CommentItem({
  target,
  comment,
  mine,
  canEdit,
  canDelete,
  now,
  focus,
  onDeleted,
}: {
  target: CommentTarget;
  comment: CommentOut;
  mine: boolean;
  canEdit: boolean;
  canDelete: boolean;
  now: number;
  focus: (request: { id: string; gone?: string }) => void;
  onDeleted: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const remove = useDeleteComment(target, comment.id);
  const id = articleId(comment);
  return (
    <li>
      <Card
        component="article"
        withBorder
        padding="sm"
        id={id}
        tabIndex={-1}
        aria-labelledby={`${id}-head`}
      >
        <Group gap={6} id={`${id}-head`} wrap="wrap" mb={4}>
          <Text size="sm" fw={600} component="span">
            {comment.author_name}
            {mine && " (you)"}
          </Text>
          <Timestamps comment={comment} now={now} />
        </Group>
        {editing ? (
          <EditComment
            target={target}
            comment={comment}
            onDone={(saved) => {
              setEditing(false);
              focus({ id: saved ? id : `${id}-edit` });
            }}
          />
        ) : (
          <Text size="sm" style={BODY_STYLE} data-testid="comment-body">
            {comment.body}
          </Text>
        )}
        {!editing && (canEdit || canDelete) && (
          <Group gap="xs" mt="xs">
            {canEdit && (
              <Button
                size="compact-xs"
                variant="default"
                id={`${id}-edit`}
                onClick={() => setEditing(true)}
              >
                Edit<VisuallyHidden> comment</VisuallyHidden>
              </Button>
            )}
            {canDelete && (
              <ConfirmButton
                size="compact-xs"
                label={
                  <>
                    Delete<VisuallyHidden> comment</VisuallyHidden>
                  </>
                }
                title="Delete the comment?"
                message={
                  mine
                    ? "Your comment will be removed for everyone. This cannot be undone."
                    : `${comment.author_name}'s comment will be removed for everyone. This cannot be undone.`
                }
                confirmLabel="Delete comment"
                pending={remove.isPending}
                error={remove.error}
                onConfirm={async () => {
                  await remove.mutateAsync();
                  onDeleted();
                }}
              />
            )}
          </Group>
        )}
      </Card>
    </li>
  );
}

function NewComment({
  target,
  onPosted,
}: {
  target: CommentTarget;
  onPosted: (comment: CommentOut) => void;
}) {
  const post = usePostComment(target);
  const fieldId = useId();
  const form = useForm<CommentValues>({
    resolver: zodResolver(commentSchema),
    defaultValues: { body: "" },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    if (post.isPending) return;
    try {
      const comment = await post.mutateAsync(values.body);
      form.reset({ body: "" });
      post.reset();
      onPosted(comment);
      // Ready for the next one (reset() forgets the field's ref: setFocus would find none).
      document.getElementById(fieldId)?.focus();
    } catch (caught) {
      applyServerErrors(caught, form.setError, COMMENT_FIELDS);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="xs">
        <Textarea
          id={fieldId}
          label="Add a comment"
          description="Plain text; line breaks are kept. Ctrl+Enter (⌘+Enter) sends it."
          autosize
          minRows={3}
          maxRows={16}
          {...form.register("body")}
          onKeyDown={submitOnModEnter(() => void onSubmit())}
          error={form.formState.errors.body?.message}
        />
        <FormError error={post.error} fields={COMMENT_FIELDS} />
        <Group justify="flex-end">
          <Button type="submit" loading={post.isPending}>
            Comment
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export function CommentsSection({
  target,
  rights,
  myId,
}: {
  target: CommentTarget;
  rights: CommentRights;
  myId: string | undefined;
}) {
  const headingId = useId();
  const { thread, loaded, extra, total, remaining } = useComments(target);
  const focus = usePendingFocus();
  const now = useMinute();
  const [announcement, setAnnouncement] = useState("");
  const shown = [...loaded, ...extra];

  const item = (comment: CommentOut, index: number) => {
    const mine = !!myId && comment.author_id === myId;
    // Where the focus goes once it is gone: the next comment, else the one before, else the
    // heading.
    const neighbour = shown[index + 1] ?? shown[index - 1];
    return (
      <CommentItem
        key={comment.id}
        target={target}
        comment={comment}
        mine={mine}
        // An author edits and deletes under the rule that let them comment; deleting
        // someone else's is moderation.
        canEdit={mine && rights.canComment}
        canDelete={(mine && rights.canComment) || rights.canModerate}
        now={now}
        focus={focus}
        onDeleted={() => {
          setAnnouncement("Comment deleted.");
          focus({ id: neighbour ? articleId(neighbour) : headingId, gone: articleId(comment) });
        }}
      />
    );
  };

  const loadMore = async () => {
    const first = loaded.length;
    const result = await thread.fetchNextPage();
    const next = result.data?.pages.flatMap((p) => p.items)[first];
    // The first of the newly shown comments takes the focus (the button may be gone).
    if (next) focus({ id: articleId(next) });
  };

  let body: ReactNode;
  // A failed "Load more" keeps the thread on screen: its error is shown by the button.
  if (!thread.data)
    body = thread.isError ? (
      <ErrorView error={thread.error} onRetry={() => void thread.refetch()} />
    ) : (
      <Skeleton h={80} />
    );
  else if (shown.length === 0)
    body = (
      <Text size="sm" c="dimmed">
        No comments yet.
      </Text>
    );
  else
    body = (
      <Stack
        component="ol"
        gap="sm"
        aria-labelledby={headingId}
        style={{ listStyle: "none", margin: 0, padding: 0 }}
      >
        {/* One keyed list: a comment posted here moves from `extra` to `loaded` when the
            thread is read again, and in two lists React would mount it anew, losing the
            keyboard focus it may hold (after a neighbour's deletion, say). */}
        {[
          ...loaded.map((c, i) => item(c, i)),
          ...(remaining > 0
            ? [
                <li key="load-more">
                  <Group gap="xs">
                    <Button
                      variant="default"
                      size="xs"
                      loading={thread.isFetchingNextPage}
                      onClick={() => void loadMore()}
                    >
                      Load more
                    </Button>
                    <Text size="xs" c="dimmed">
                      {remaining} more {remaining === 1 ? "comment" : "comments"}
                    </Text>
                  </Group>
                  {thread.isFetchNextPageError && <ErrorView error={thread.error} />}
                </li>,
              ]
            : []),
          ...extra.map((c, i) => item(c, loaded.length + i)),
        ]}
      </Stack>
    );

  return (
    <Card withBorder component="section" aria-labelledby={headingId}>
      <Group justify="space-between" mb="sm" align="baseline">
        <Title order={2} size="h4" id={headingId} tabIndex={-1}>
          Comments
        </Title>
        {total > 0 && (
          <Text size="sm" c="dimmed">
            {total} {total === 1 ? "comment" : "comments"}
          </Text>
        )}
      </Group>
      <Stack gap="md">
        {body}
        {rights.canComment ? (
          <NewComment
            target={target}
            onPosted={() => setAnnouncement("Your comment was posted.")}
          />
        ) : (
          rights.reason && (
            <Text size="sm" c="dimmed" data-testid="comment-reason">
              {rights.reason}
            </Text>
          )
        )}
      </Stack>
      <VisuallyHidden role="status" aria-live="polite">
        {announcement}
      </VisuallyHidden>
    </Card>
  );
}
