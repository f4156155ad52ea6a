/**
 * Comments on an issue or a pull request (the issues service: `/api/v1/issues/{id}/comments`,
 * `/api/v1/prs/{id}/comments`), oldest first, a page at a time.
 *
 * The thread is one infinite query: the pages loaded so far ("Load more" asks for the next
 * one). A comment posted here is kept beside it ("posted") until a page brings it, so it shows
 * at once even when older pages are still unloaded; the two are merged by id.
 */
import {
  type InfiniteData,
  type QueryClient,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import {
  createIssueCommentApiV1IssuesIssueIdCommentsPost,
  createPrCommentApiV1PrsPrIdCommentsPost,
  deleteIssueCommentApiV1IssuesIssueIdCommentsCommentIdDelete,
  deletePrCommentApiV1PrsPrIdCommentsCommentIdDelete,
  listIssueCommentsApiV1IssuesIssueIdCommentsGet,
  listPrCommentsApiV1PrsPrIdCommentsGet,
  updateIssueCommentApiV1IssuesIssueIdCommentsCommentIdPatch,
  updatePrCommentApiV1PrsPrIdCommentsCommentIdPatch,
} from "@/client/sdk.gen";
import type { CommentOut, PageCommentOut } from "@/client/types.gen";

/** What is commented on: an issue or a tracked pull request. */
export interface CommentTarget {
  kind: "issue" | "pull";
  id: string;
}

export const COMMENTS_PAGE_SIZE = 50;
/** The API's limit on a comment's length (the server checks it too). */
export const COMMENT_MAX_LENGTH = 10_000;

export const commentKeys = {
  thread: (target: CommentTarget) => ["comments", target.kind, target.id] as const,
  posted: (target: CommentTarget) => ["comments", target.kind, target.id, "posted"] as const,
};

/** The four calls on either parent: the same contract under /issues/{id} and /prs/{id}. */
const api = {
  async list(target: CommentTarget, offset: number): Promise<PageCommentOut> {
    const query = { limit: COMMENTS_PAGE_SIZE, offset };
    return target.kind === "issue"
      ? (
          await listIssueCommentsApiV1IssuesIssueIdCommentsGet({
            path: { issue_id: target.id },
            query,
            throwOnError: true,
          })
        ).data
      : (
          await listPrCommentsApiV1PrsPrIdCommentsGet({
            path: { pr_id: target.id },
            query,
            throwOnError: true,
          })
        ).data;
  },
  async create(target: CommentTarget, body: string): Promise<CommentOut> {
    return target.kind === "issue"
      ? (
          await createIssueCommentApiV1IssuesIssueIdCommentsPost({
            path: { issue_id: target.id },
            body: { body },
            throwOnError: true,
          })
        ).data
      : (
          await createPrCommentApiV1PrsPrIdCommentsPost({
            path: { pr_id: target.id },
            body: { body },
            throwOnError: true,
          })
        ).data;
  },
  async update(target: CommentTarget, commentId: string, body: string): Promise<CommentOut> {
    return target.kind === "issue"
      ? (
          await updateIssueCommentApiV1IssuesIssueIdCommentsCommentIdPatch({
            path: { issue_id: target.id, comment_id: commentId },
            body: { body },
            throwOnError: true,
          })
        ).data
      : (
          await updatePrCommentApiV1PrsPrIdCommentsCommentIdPatch({
            path: { pr_id: target.id, comment_id: commentId },
            body: { body },
            throwOnError: true,
          })
        ).data;
  },
  async remove(target: CommentTarget, commentId: string): Promise<void> {
    if (target.kind === "issue") {
      await deleteIssueCommentApiV1IssuesIssueIdCommentsCommentIdDelete({
        path: { issue_id: target.id, comment_id: commentId },
        throwOnError: true,
      });
    } else {
      await deletePrCommentApiV1PrsPrIdCommentsCommentIdDelete({
        path: { pr_id: target.id, comment_id: commentId },
        throwOnError: true,
      });
    }
  },
};

/** The thread as loaded so far, and what this tab posted that no loaded page holds yet. */
export function useComments(target: CommentTarget) {
  const thread = useInfiniteQuery({
    queryKey: commentKeys.thread(target),
    queryFn: ({ pageParam }) => api.list(target, pageParam),
    initialPageParam: 0,
    getNextPageParam: (last: PageCommentOut) =>
      last.offset + last.limit < last.total ? last.offset + last.limit : undefined,
  });
  // Never fetched: only written by a successful post, read here.
  const posted = useQuery<CommentOut[]>({
    queryKey: commentKeys.posted(target),
    queryFn: () => [],
    initialData: [],
    staleTime: Number.POSITIVE_INFINITY,
    enabled: false,
  });
  const pages = thread.data?.pages ?? [];
  const loaded = pages.flatMap((p) => p.items);
  const seen = new Set(loaded.map((c) => c.id));
  const extra = (posted.data ?? []).filter((c) => !seen.has(c.id));
  const total = pages.at(-1)?.total ?? 0;
  // Comments on the server not shown yet (the posted ones are shown after the loaded ones).
  const remaining = Math.max(0, total - loaded.length - extra.length);
  return { thread, loaded, extra, total: Math.max(total, loaded.length + extra.length), remaining };
}

type Thread = InfiniteData<PageCommentOut, number>;

/** Applies `change` to every copy of a comment in the cache (loaded pages and posted ones);
 * `null` removes it. */
function changeComment(
  queryClient: QueryClient,
  target: CommentTarget,
  id: string,
  change: (comment: CommentOut) => CommentOut | null,
): void {
  const apply = (items: CommentOut[]) =>
    items.flatMap((c) => {
      if (c.id !== id) return [c];
      const next = change(c);
      return next ? [next] : [];
    });
  queryClient.setQueryData<Thread>(commentKeys.thread(target), (data) =>
    data ? { ...data, pages: data.pages.map((p) => ({ ...p, items: apply(p.items) })) } : data,
  );
  queryClient.setQueryData<CommentOut[]>(commentKeys.posted(target), (items) =>
    items ? apply(items) : items,
  );
}

export function usePostComment(target: CommentTarget) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: string) => api.create(target, body),
    onSuccess: (comment) => {
      queryClient.setQueryData<CommentOut[]>(commentKeys.posted(target), (items = []) => [
        ...items,
        comment,
      ]);
    },
  });
}

export function useEditComment(target: CommentTarget, commentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: string) => api.update(target, commentId, body),
    onSuccess: (comment) => changeComment(queryClient, target, commentId, () => comment),
  });
}

export function useDeleteComment(target: CommentTarget, commentId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.remove(target, commentId),
    onSuccess: () => {
      changeComment(queryClient, target, commentId, () => null);
      // The pages after it now start one comment earlier on the server: reload them so that
      // "Load more" neither skips nor repeats one.
      void queryClient.invalidateQueries({ queryKey: commentKeys.thread(target), exact: true });
    },
  });
}
