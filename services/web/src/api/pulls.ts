/**
 * Tracked pull requests (the issues service, /api/v1/prs), their reviews, and the diff a
 * review looked at (the agents service, /api/v1/agents/runs/{run_id}/diff).
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  getPrApiV1PrsPrIdGet,
  getReviewApiV1PrsPrIdReviewGet,
  listPrsApiV1PrsGet,
  requestReviewApiV1PrsPrIdReviewPost,
  runDiffApiV1AgentsRunsRunIdDiffGet,
  syncFromGithubApiV1PrsPrIdSyncPost,
  trackPrApiV1PrsPost,
  untrackPrApiV1PrsPrIdDelete,
  updatePrApiV1PrsPrIdPatch,
} from "@/client/sdk.gen";
import type {
  PullRequestOut,
  PullRequestState,
  PullRequestTrack,
  PullRequestUpdate,
  ReviewHistory,
  ReviewLevel,
  ReviewStatus,
} from "@/client/types.gen";

export const PULLS_PAGE_SIZE = 20;
/** How often a pending review is asked about. */
export const REVIEW_POLL_MS = 2_000;

export interface PullFilters {
  state?: PullRequestState;
  review?: ReviewStatus;
  page?: number;
}

export const pullKeys = {
  all: ["pulls"] as const,
  list: (projectId: string, filters: PullFilters) => ["pulls", "list", projectId, filters] as const,
  detail: (id: string) => ["pulls", "detail", id] as const,
  review: (id: string) => ["pulls", "detail", id, "review"] as const,
  diff: (runId: string) => ["runs", runId, "diff"] as const,
};

export function usePulls(projectId: string, filters: PullFilters) {
  const page = filters.page ?? 1;
  return useQuery({
    queryKey: pullKeys.list(projectId, filters),
    queryFn: async () =>
      (
        await listPrsApiV1PrsGet({
          query: {
            project_id: projectId,
            state: filters.state,
            review_status: filters.review,
            limit: PULLS_PAGE_SIZE,
            offset: (page - 1) * PULLS_PAGE_SIZE,
            sort: "-number",
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

export function usePull(pullId: string) {
  return useQuery({
    queryKey: pullKeys.detail(pullId),
    queryFn: async () =>
      (await getPrApiV1PrsPrIdGet({ path: { pr_id: pullId }, throwOnError: true })).data,
  });
}

export function reviewPending(history: ReviewHistory | undefined): boolean {
  return history?.latest?.status === "pending";
}

/** The reviews of a pull request; asked again every few seconds while one is pending. */
export function useReviews(pullId: string) {
  return useQuery({
    queryKey: pullKeys.review(pullId),
    queryFn: async () =>
      (await getReviewApiV1PrsPrIdReviewGet({ path: { pr_id: pullId }, throwOnError: true })).data,
    refetchInterval: (query) => (reviewPending(query.state.data) ? REVIEW_POLL_MS : false),
  });
}

/** A finished run's diff never changes. */
export function useRunDiff(runId: string | null | undefined) {
  return useQuery({
    queryKey: pullKeys.diff(runId ?? ""),
    queryFn: async () =>
      (
        await runDiffApiV1AgentsRunsRunIdDiffGet({
          path: { run_id: runId ?? "" },
          throwOnError: true,
        })
      ).data,
    enabled: !!runId,
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function useTrackPull() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: PullRequestTrack) =>
      (await trackPrApiV1PrsPost({ body, throwOnError: true })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: pullKeys.all }),
  });
}

function useStorePull() {
  const queryClient = useQueryClient();
  return (pull: PullRequestOut) => {
    queryClient.setQueryData(pullKeys.detail(pull.id), pull);
    void queryClient.invalidateQueries({ queryKey: ["pulls", "list"] });
  };
}

export function useUpdatePull(pullId: string) {
  const store = useStorePull();
  return useMutation({
    mutationFn: async (body: PullRequestUpdate) =>
      (await updatePrApiV1PrsPrIdPatch({ path: { pr_id: pullId }, body, throwOnError: true })).data,
    onSuccess: store,
  });
}

export function useSyncPull(pullId: string) {
  const store = useStorePull();
  return useMutation({
    mutationFn: async () =>
      (await syncFromGithubApiV1PrsPrIdSyncPost({ path: { pr_id: pullId }, throwOnError: true }))
        .data,
    onSuccess: store,
  });
}

export function useUntrackPull(pullId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await untrackPrApiV1PrsPrIdDelete({ path: { pr_id: pullId }, throwOnError: true });
    },
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: pullKeys.detail(pullId) });
      void queryClient.invalidateQueries({ queryKey: ["pulls", "list"] });
    },
  });
}

export function useRequestReview(pullId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (level: ReviewLevel) =>
      (
        await requestReviewApiV1PrsPrIdReviewPost({
          path: { pr_id: pullId },
          body: { level },
          throwOnError: true,
        })
      ).data,
    // The PR's review status and the history both changed: the detail key prefixes both.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: pullKeys.detail(pullId) }),
  });
}
