/**
 * Issue queries and mutations (`/api/v1/issues`), and the two lists the issue pages need from
 * elsewhere: the project's agents (to assign one) and its tracked pull requests (to name the one
 * that resolved an issue).
 */
import {
  keepPreviousData,
  type QueryClient,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import {
  assignIssueApiV1IssuesIssueIdAssignPost,
  createIssueApiV1IssuesPost,
  deleteIssueApiV1IssuesIssueIdDelete,
  getIssueApiV1IssuesIssueIdGet,
  issueStatsApiV1IssuesStatsGet,
  listAgentsApiV1AgentsGet,
  listIssuesApiV1IssuesGet,
  listPrsApiV1PrsGet,
  resolveIssueApiV1IssuesIssueIdResolvePost,
  syncFromGithubApiV1IssuesIssueIdSyncPost,
  updateIssueApiV1IssuesIssueIdPatch,
} from "@/client/sdk.gen";
import type {
  IssueCreate,
  IssueOut,
  IssueUpdate,
  ListIssuesApiV1IssuesGetData,
  ResolveRequest,
} from "@/client/types.gen";

type ListQuery = NonNullable<ListIssuesApiV1IssuesGetData["query"]>;

export const issueKeys = {
  all: ["issues"] as const,
  lists: ["issues", "list"] as const,
  list: (query: ListQuery) => ["issues", "list", query] as const,
  openMine: (limit: number) => ["issues", "list", { status: "open", limit }] as const,
  stats: (projectId: string) => ["issues", "stats", projectId] as const,
  detail: (issueId: string) => ["issues", "detail", issueId] as const,
  agents: (projectId: string) => ["agents", "list", { project_id: projectId }] as const,
  // Under the pull requests' own prefix: tracking or untracking one refreshes this list too.
  pulls: (projectId: string) => ["pulls", "list", projectId, { limit: 100 }] as const,
};

function listOptions(query: ListQuery) {
  return {
    queryKey: issueKeys.list(query),
    queryFn: async () => (await listIssuesApiV1IssuesGet({ query, throwOnError: true })).data,
  };
}

/** One page of a project's issues; the previous page stays on screen while the next loads. */
export function useIssues(query: ListQuery) {
  return useQuery({ ...listOptions(query), placeholderData: keepPreviousData });
}

/** Loads a page before it is asked for (the next one), so turning the page shows it at once. */
export function prefetchIssues(queryClient: QueryClient, query: ListQuery): void {
  void queryClient.prefetchQuery(listOptions(query));
}

/** Open issues in the projects the caller can see (the list is scoped to the caller), the most
 * urgent first. */
export function useMyOpenIssues(limit = 10) {
  return useQuery({
    queryKey: issueKeys.openMine(limit),
    queryFn: async () =>
      (
        await listIssuesApiV1IssuesGet({
          query: { status: "open", limit, sort: "-priority" },
          throwOnError: true,
        })
      ).data,
  });
}

export function useIssueStats(projectId: string) {
  return useQuery({
    queryKey: issueKeys.stats(projectId),
    queryFn: async () =>
      (
        await issueStatsApiV1IssuesStatsGet({
          query: { project_id: projectId },
          throwOnError: true,
        })
      ).data,
  });
}

export function useIssue(issueId: string) {
  return useQuery({
    queryKey: issueKeys.detail(issueId),
    queryFn: async () =>
      (await getIssueApiV1IssuesIssueIdGet({ path: { issue_id: issueId }, throwOnError: true }))
        .data,
  });
}

/** After any change: the issue as the server answered, and every list and count refetched. */
function useIssueChanged() {
  const queryClient = useQueryClient();
  return (issue: IssueOut) => {
    queryClient.setQueryData(issueKeys.detail(issue.id), issue);
    void queryClient.invalidateQueries({ queryKey: issueKeys.lists });
    void queryClient.invalidateQueries({ queryKey: ["issues", "stats"] });
  };
}

export function useCreateIssue() {
  const changed = useIssueChanged();
  return useMutation({
    mutationFn: async (body: IssueCreate) =>
      (await createIssueApiV1IssuesPost({ body, throwOnError: true })).data,
    onSuccess: changed,
  });
}

/** A change to one issue: the answer replaces it; on a refusal (a 409: it moved meanwhile)
 * the issue is reloaded, so the page shows it as it is now. */
function useIssueChange<T>(issueId: string, change: (body: T) => Promise<IssueOut>) {
  const changed = useIssueChanged();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSuccess: changed,
    onError: () => queryClient.invalidateQueries({ queryKey: issueKeys.detail(issueId) }),
  });
}

export function useUpdateIssue(issueId: string) {
  return useIssueChange(issueId, async (body: IssueUpdate) => {
    const path = { issue_id: issueId };
    return (await updateIssueApiV1IssuesIssueIdPatch({ path, body, throwOnError: true })).data;
  });
}

export function useAssignIssue(issueId: string) {
  return useIssueChange(issueId, async (agentId: string) => {
    const path = { issue_id: issueId };
    const body = { agent_id: agentId };
    return (await assignIssueApiV1IssuesIssueIdAssignPost({ path, body, throwOnError: true })).data;
  });
}

export function useResolveIssue(issueId: string) {
  return useIssueChange(issueId, async (body: ResolveRequest) => {
    const path = { issue_id: issueId };
    return (await resolveIssueApiV1IssuesIssueIdResolvePost({ path, body, throwOnError: true }))
      .data;
  });
}

export function useSyncIssue(issueId: string) {
  return useIssueChange<void>(issueId, async () => {
    const path = { issue_id: issueId };
    return (await syncFromGithubApiV1IssuesIssueIdSyncPost({ path, throwOnError: true })).data;
  });
}

export function useDeleteIssue(issueId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await deleteIssueApiV1IssuesIssueIdDelete({
        path: { issue_id: issueId },
        throwOnError: true,
      });
    },
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: issueKeys.detail(issueId) });
      void queryClient.invalidateQueries({ queryKey: issueKeys.lists });
      void queryClient.invalidateQueries({ queryKey: ["issues", "stats"] });
    },
  });
}

/** The project's agents (the first 100: the API's largest page), to assign and to name. */
export function useProjectAgents(projectId: string) {
  return useQuery({
    queryKey: issueKeys.agents(projectId),
    queryFn: async () =>
      (
        await listAgentsApiV1AgentsGet({
          query: { project_id: projectId, limit: 100, sort: "name" },
          throwOnError: true,
        })
      ).data,
    staleTime: 60_000,
  });
}

/** The project's tracked pull requests (the 100 newest), for the resolve dialog. */
export function useProjectPullRequests(projectId: string, enabled: boolean) {
  return useQuery({
    queryKey: issueKeys.pulls(projectId),
    queryFn: async () =>
      (
        await listPrsApiV1PrsGet({
          query: { project_id: projectId, limit: 100 },
          throwOnError: true,
        })
      ).data,
    enabled,
  });
}
