/** User administration and the audit trail (auth's /api/v1/auth/admin, admin role only). */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  disableApiV1AuthAdminUsersUserIdDisablePost,
  enableApiV1AuthAdminUsersUserIdEnablePost,
  getUserApiV1AuthAdminUsersUserIdGet,
  listAuditApiV1AuthAdminAuditGet,
  listUsersApiV1AuthAdminUsersGet,
  lockApiV1AuthAdminUsersUserIdLockPost,
  setRolesApiV1AuthAdminUsersUserIdRolesPut,
  unlockApiV1AuthAdminUsersUserIdUnlockPost,
} from "@/client/sdk.gen";
import type { AdminUserOut } from "@/client/types.gen";

export type Role = "admin" | "user" | "agent" | "readonly";
export const ROLES: Role[] = ["admin", "user", "agent", "readonly"];
export const ADMIN_PAGE_SIZE = 20;

export interface UserFilters {
  q?: string;
  role?: Role;
  active?: boolean;
  page?: number;
}

export interface AuditFilters {
  user_id?: string;
  action?: string;
  outcome?: "success" | "failure";
  page?: number;
}

export const adminKeys = {
  users: ["admin", "users"] as const,
  userList: (filters: UserFilters) => ["admin", "users", "list", filters] as const,
  user: (id: string) => ["admin", "users", "detail", id] as const,
  audit: (filters: AuditFilters) => ["admin", "audit", filters] as const,
  auditAll: ["admin", "audit"] as const,
};

export function useAdminUsers(filters: UserFilters) {
  const page = filters.page ?? 1;
  return useQuery({
    queryKey: adminKeys.userList(filters),
    queryFn: async () =>
      (
        await listUsersApiV1AuthAdminUsersGet({
          query: {
            q: filters.q || undefined,
            role: filters.role,
            active: filters.active,
            limit: ADMIN_PAGE_SIZE,
            offset: (page - 1) * ADMIN_PAGE_SIZE,
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

/** One user, for naming the ids in the audit trail (cached: a page names few people). */
export function useAdminUser(userId: string | null) {
  return useQuery({
    queryKey: adminKeys.user(userId ?? ""),
    queryFn: async () =>
      (
        await getUserApiV1AuthAdminUsersUserIdGet({
          path: { user_id: userId ?? "" },
          throwOnError: true,
        })
      ).data,
    enabled: !!userId,
    staleTime: 5 * 60_000,
    retry: false,
  });
}

export type UserAction = "lock" | "unlock" | "disable" | "enable";

const ACTIONS = {
  lock: lockApiV1AuthAdminUsersUserIdLockPost,
  unlock: unlockApiV1AuthAdminUsersUserIdUnlockPost,
  disable: disableApiV1AuthAdminUsersUserIdDisablePost,
  enable: enableApiV1AuthAdminUsersUserIdEnablePost,
} as const;

function useUserChanged() {
  const queryClient = useQueryClient();
  return (user: AdminUserOut) => {
    queryClient.setQueryData(adminKeys.user(user.id), user);
    void queryClient.invalidateQueries({ queryKey: adminKeys.users });
    void queryClient.invalidateQueries({ queryKey: adminKeys.auditAll });
  };
}

export function useUserAction() {
  const changed = useUserChanged();
  return useMutation({
    mutationFn: async ({ userId, action }: { userId: string; action: UserAction }) =>
      (await ACTIONS[action]({ path: { user_id: userId }, throwOnError: true })).data,
    onSuccess: changed,
  });
}

export function useSetRoles() {
  const changed = useUserChanged();
  return useMutation({
    mutationFn: async ({ userId, roles }: { userId: string; roles: Role[] }) =>
      (
        await setRolesApiV1AuthAdminUsersUserIdRolesPut({
          path: { user_id: userId },
          body: { roles },
          throwOnError: true,
        })
      ).data,
    onSuccess: changed,
  });
}

export function useAudit(filters: AuditFilters) {
  const page = filters.page ?? 1;
  return useQuery({
    queryKey: adminKeys.audit(filters),
    queryFn: async () =>
      (
        await listAuditApiV1AuthAdminAuditGet({
          query: {
            user_id: filters.user_id,
            action: filters.action,
            outcome: filters.outcome,
            limit: ADMIN_PAGE_SIZE,
            offset: (page - 1) * ADMIN_PAGE_SIZE,
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}
