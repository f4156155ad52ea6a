import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createProjectApiV1ProjectsPost,
  deleteProjectApiV1ProjectsProjectIdDelete,
  getProjectApiV1ProjectsProjectIdGet,
  listProjectsApiV1ProjectsGet,
  rotateWebhookSecretApiV1ProjectsProjectIdWebhookSecretRotatePost,
  updateProjectApiV1ProjectsProjectIdPatch,
} from "@/client/sdk.gen";
import type { ProjectCreate, ProjectUpdate } from "@/client/types.gen";

export const PAGE_SIZE = 20;

export const projectKeys = {
  all: ["projects"] as const,
  list: (q: string, page: number) => ["projects", "list", { q, page }] as const,
  detail: (id: string) => ["projects", "detail", id] as const,
};

export function useProjects(q: string, page: number, pageSize: number = PAGE_SIZE) {
  return useQuery({
    queryKey: [...projectKeys.list(q, page), pageSize],
    queryFn: async () =>
      (
        await listProjectsApiV1ProjectsGet({
          query: { q: q || undefined, limit: pageSize, offset: (page - 1) * pageSize },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

export function useProject(projectId: string) {
  return useQuery({
    queryKey: projectKeys.detail(projectId),
    queryFn: async () =>
      (
        await getProjectApiV1ProjectsProjectIdGet({
          path: { project_id: projectId },
          throwOnError: true,
        })
      ).data,
  });
}

export function useCreateProject() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ProjectCreate) =>
      (await createProjectApiV1ProjectsPost({ body, throwOnError: true })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: projectKeys.all }),
  });
}

export function useUpdateProject(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ProjectUpdate) =>
      (
        await updateProjectApiV1ProjectsProjectIdPatch({
          path: { project_id: projectId },
          body,
          throwOnError: true,
        })
      ).data,
    onSuccess: (project) => {
      queryClient.setQueryData(projectKeys.detail(projectId), project);
      void queryClient.invalidateQueries({ queryKey: projectKeys.all });
    },
  });
}

export function useDeleteProject(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await deleteProjectApiV1ProjectsProjectIdDelete({
        path: { project_id: projectId },
        throwOnError: true,
      });
    },
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: projectKeys.detail(projectId) });
      void queryClient.invalidateQueries({ queryKey: projectKeys.all });
    },
  });
}

export function useRotateWebhookSecret(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      (
        await rotateWebhookSecretApiV1ProjectsProjectIdWebhookSecretRotatePost({
          path: { project_id: projectId },
          throwOnError: true,
        })
      ).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: projectKeys.detail(projectId) }),
  });
}
