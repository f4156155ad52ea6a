/** The signed-in user's own account: profile, password, TOTP, sessions and API keys. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { authKeys } from "@/api/auth";
import {
  changePasswordApiV1AuthChangePasswordPost,
  confirmTotpApiV1AuthTotpConfirmPost,
  createKeyApiV1AuthApiKeysPost,
  disableTotpApiV1AuthTotpDisablePost,
  enrollTotpApiV1AuthTotpEnrollPost,
  getPreferencesApiV1AuthMeNotificationsGet,
  listKeysApiV1AuthApiKeysGet,
  listSessionsApiV1AuthSessionsGet,
  requestVerificationApiV1AuthEmailVerificationRequestPost,
  revokeAllSessionsApiV1AuthSessionsDelete,
  revokeKeyApiV1AuthApiKeysKeyIdDelete,
  revokeSessionApiV1AuthSessionsSessionIdDelete,
  updateMeApiV1AuthMePatch,
  updatePreferencesApiV1AuthMeNotificationsPatch,
} from "@/client/sdk.gen";
import type {
  ApiKeyCreate,
  NoticePreferences,
  NoticePreferencesUpdate,
  ProfileUpdate,
} from "@/client/types.gen";
import { acceptTokens, type TokenResponse } from "@/lib/auth";

export const accountKeys = {
  sessions: ["auth", "sessions"] as const,
  apiKeys: (includeRevoked: boolean, page: number) =>
    ["auth", "api-keys", { includeRevoked, page }] as const,
  apiKeysAll: ["auth", "api-keys"] as const,
  notices: ["auth", "notifications"] as const,
};

/** Which opt-in notices I get by mail. */
export function useNoticePreferences() {
  return useQuery({
    queryKey: accountKeys.notices,
    queryFn: async () =>
      (await getPreferencesApiV1AuthMeNotificationsGet({ throwOnError: true })).data,
  });
}

export function useUpdateNoticePreferences() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: NoticePreferencesUpdate) =>
      (await updatePreferencesApiV1AuthMeNotificationsPatch({ body, throwOnError: true })).data,
    // The switch moves at once; a refused save puts it back.
    onMutate: async (body: NoticePreferencesUpdate) => {
      await queryClient.cancelQueries({ queryKey: accountKeys.notices });
      const before = queryClient.getQueryData<NoticePreferences>(accountKeys.notices);
      if (before) {
        const changed = Object.fromEntries(
          Object.entries(body).filter(([, value]) => typeof value === "boolean"),
        );
        queryClient.setQueryData(accountKeys.notices, { ...before, ...changed });
      }
      return { before };
    },
    onError: (_error, _body, context) => {
      if (context?.before) queryClient.setQueryData(accountKeys.notices, context.before);
    },
    onSuccess: (saved) => queryClient.setQueryData(accountKeys.notices, saved),
  });
}

/** Mail my address a new verification link. */
export function useResendVerification() {
  return useMutation({
    mutationFn: async () =>
      (await requestVerificationApiV1AuthEmailVerificationRequestPost({ throwOnError: true })).data,
  });
}

export const API_KEYS_PAGE_SIZE = 20;

export function useUpdateProfile() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ProfileUpdate) =>
      (await updateMeApiV1AuthMePatch({ body, throwOnError: true })).data,
    onSuccess: (me) => queryClient.setQueryData(authKeys.me, me),
  });
}

export function useChangePassword() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: { current_password: string; new_password: string }) =>
      (
        await changePasswordApiV1AuthChangePasswordPost({
          // Browser mode: this session's rotated refresh token comes back as the cookie.
          body: { ...body, cookie: true },
          throwOnError: true,
        })
      ).data,
    onSuccess: (tokens) => {
      // Every access token issued before the change is dead: carry on with the new one.
      acceptTokens(tokens as TokenResponse);
      void queryClient.invalidateQueries({ queryKey: accountKeys.sessions });
    },
  });
}

export function useEnrollTotp() {
  return useMutation({
    mutationFn: async () => (await enrollTotpApiV1AuthTotpEnrollPost({ throwOnError: true })).data,
  });
}

export function useConfirmTotp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (code: string) => {
      await confirmTotpApiV1AuthTotpConfirmPost({ body: { code }, throwOnError: true });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: authKeys.me }),
  });
}

export function useDisableTotp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: { password: string; code: string }) => {
      await disableTotpApiV1AuthTotpDisablePost({ body, throwOnError: true });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: authKeys.me }),
  });
}

export function useSessions() {
  return useQuery({
    queryKey: accountKeys.sessions,
    queryFn: async () => (await listSessionsApiV1AuthSessionsGet({ throwOnError: true })).data,
  });
}

export function useRevokeSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (sessionId: string) => {
      await revokeSessionApiV1AuthSessionsSessionIdDelete({
        path: { session_id: sessionId },
        throwOnError: true,
      });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: accountKeys.sessions }),
  });
}

/** Every session but this one, one by one (the API's "all" includes this device). */
export function useRevokeOtherSessions() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (sessionIds: string[]) => {
      for (const id of sessionIds) {
        await revokeSessionApiV1AuthSessionsSessionIdDelete({
          path: { session_id: id },
          throwOnError: true,
        });
      }
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: accountKeys.sessions }),
  });
}

/** Every session, this one included: the caller signs out locally afterwards. */
export function useRevokeAllSessions() {
  return useMutation({
    mutationFn: async () => {
      await revokeAllSessionsApiV1AuthSessionsDelete({ throwOnError: true });
    },
  });
}

export function useApiKeys(includeRevoked: boolean, page: number) {
  return useQuery({
    queryKey: accountKeys.apiKeys(includeRevoked, page),
    queryFn: async () =>
      (
        await listKeysApiV1AuthApiKeysGet({
          query: {
            include_revoked: includeRevoked,
            limit: API_KEYS_PAGE_SIZE,
            offset: (page - 1) * API_KEYS_PAGE_SIZE,
          },
          throwOnError: true,
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}

export function useCreateApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ApiKeyCreate) =>
      (await createKeyApiV1AuthApiKeysPost({ body, throwOnError: true })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: accountKeys.apiKeysAll }),
  });
}

export function useRevokeApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (keyId: string) => {
      await revokeKeyApiV1AuthApiKeysKeyIdDelete({ path: { key_id: keyId }, throwOnError: true });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: accountKeys.apiKeysAll }),
  });
}
