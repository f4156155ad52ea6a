import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  clearTokenApiV1IssuesProjectsProjectIdGithubTokenDelete,
  getTokenStatusApiV1IssuesProjectsProjectIdGithubTokenGet,
  setTokenApiV1IssuesProjectsProjectIdGithubTokenPut,
} from "@/client/sdk.gen";

/** A project's own GitHub token (issues service): set or clear; only "whether set" is readable. */
export const githubTokenKeys = {
  status: (projectId: string) => ["github-token", projectId] as const,
};

export function useGithubTokenStatus(projectId: string) {
  return useQuery({
    queryKey: githubTokenKeys.status(projectId),
    queryFn: async () =>
      (
        await getTokenStatusApiV1IssuesProjectsProjectIdGithubTokenGet({
          path: { project_id: projectId },
          throwOnError: true,
        })
      ).data,
  });
}

export function useSetGithubToken(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (token: string) =>
      (
        await setTokenApiV1IssuesProjectsProjectIdGithubTokenPut({
          path: { project_id: projectId },
          body: { token },
          throwOnError: true,
        })
      ).data,
    onSuccess: (status) => queryClient.setQueryData(githubTokenKeys.status(projectId), status),
  });
}

export function useClearGithubToken(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await clearTokenApiV1IssuesProjectsProjectIdGithubTokenDelete({
        path: { project_id: projectId },
        throwOnError: true,
      });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: githubTokenKeys.status(projectId) }),
  });
}
