/**
 * Issue queries. The Issues pages (features/issues, branch web-pages) add theirs here; the home
 * page needs only the open issues of the caller's projects.
 */
import { useQuery } from "@tanstack/react-query";
import { listIssuesApiV1IssuesGet } from "@/client/sdk.gen";

export const issueKeys = {
  all: ["issues"] as const,
  openMine: (limit: number) => ["issues", "list", { status: "open", limit }] as const,
};

/** Open issues in the projects the caller can see (the list is scoped to the caller). */
export function useMyOpenIssues(limit = 10) {
  return useQuery({
    queryKey: issueKeys.openMine(limit),
    queryFn: async () =>
      (
        await listIssuesApiV1IssuesGet({
          query: { status: "open", limit },
          throwOnError: true,
        })
      ).data,
  });
}
