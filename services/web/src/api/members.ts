import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  addMemberApiV1ProjectsProjectIdMembersPost,
  changeMemberRoleApiV1ProjectsProjectIdMembersUserIdPatch,
  listMembersApiV1ProjectsProjectIdMembersGet,
  removeMemberApiV1ProjectsProjectIdMembersUserIdDelete,
} from "@/client/sdk.gen";
import type { MemberRead } from "@/client/types.gen";

type MemberRole = MemberRead["role"];

import { projectKeys } from "@/api/projects";

export const memberKeys = {
  list: (projectId: string) => ["projects", "detail", projectId, "members"] as const,
};

export function useMembers(projectId: string) {
  return useQuery({
    queryKey: memberKeys.list(projectId),
    queryFn: async () =>
      (
        await listMembersApiV1ProjectsProjectIdMembersGet({
          path: { project_id: projectId },
          throwOnError: true,
        })
      ).data,
  });
}

function useInvalidateProject(projectId: string) {
  const queryClient = useQueryClient();
  // The project's detail key is a prefix of its members key: one call refreshes both.
  return () => queryClient.invalidateQueries({ queryKey: projectKeys.detail(projectId) });
}

export function useAddMember(projectId: string) {
  const invalidate = useInvalidateProject(projectId);
  return useMutation({
    mutationFn: async (body: { user_id: string; role: MemberRole }) =>
      (
        await addMemberApiV1ProjectsProjectIdMembersPost({
          path: { project_id: projectId },
          body,
          throwOnError: true,
        })
      ).data,
    onSuccess: invalidate,
  });
}

export function useChangeMemberRole(projectId: string) {
  const invalidate = useInvalidateProject(projectId);
  return useMutation({
    mutationFn: async ({ userId, role }: { userId: string; role: MemberRole }) =>
      (
        await changeMemberRoleApiV1ProjectsProjectIdMembersUserIdPatch({
          path: { project_id: projectId, user_id: userId },
          body: { role },
          throwOnError: true,
        })
      ).data,
    onSuccess: invalidate,
  });
}

export function useRemoveMember(projectId: string) {
  const invalidate = useInvalidateProject(projectId);
  return useMutation({
    mutationFn: async (userId: string) => {
      await removeMemberApiV1ProjectsProjectIdMembersUserIdDelete({
        path: { project_id: projectId, user_id: userId },
        throwOnError: true,
      });
    },
    onSuccess: invalidate,
  });
}
