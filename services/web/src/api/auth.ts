import { useMutation, useQuery } from "@tanstack/react-query";
import {
  confirmResetApiV1AuthPasswordResetConfirmPost,
  confirmVerificationApiV1AuthEmailVerificationConfirmPost,
  meApiV1AuthMeGet,
  registerApiV1AuthRegisterPost,
  requestResetApiV1AuthPasswordResetRequestPost,
} from "@/client/sdk.gen";
import type { RegisterRequest } from "@/client/types.gen";
import { useSession } from "@/lib/session";

export const authKeys = {
  me: ["auth", "me"] as const,
  github: ["auth", "github-available"] as const,
};

/** The signed-in account (id, roles, TOTP on or off). */
export function useMe() {
  const session = useSession();
  return useQuery({
    queryKey: authKeys.me,
    queryFn: async () => (await meApiV1AuthMeGet({ throwOnError: true })).data,
    enabled: session.status === "signed-in",
    staleTime: 60_000,
  });
}

export function useRegister() {
  return useMutation({
    mutationFn: async (body: RegisterRequest) =>
      (await registerApiV1AuthRegisterPost({ body, throwOnError: true })).data,
  });
}

export function useRequestReset() {
  return useMutation({
    mutationFn: async (email: string) =>
      (await requestResetApiV1AuthPasswordResetRequestPost({ body: { email }, throwOnError: true }))
        .data,
  });
}

export function useConfirmReset() {
  return useMutation({
    mutationFn: async (body: { token: string; new_password: string }) => {
      await confirmResetApiV1AuthPasswordResetConfirmPost({ body, throwOnError: true });
    },
  });
}

/** The link mailed to an address: its token marks the address verified (once). */
export function useConfirmVerification() {
  return useMutation({
    mutationFn: async (token: string) => {
      await confirmVerificationApiV1AuthEmailVerificationConfirmPost({
        body: { token },
        throwOnError: true,
      });
    },
  });
}

export const GITHUB_LOGIN_URL = "/api/v1/auth/github/login?mode=cookie";

/**
 * Whether "Sign in with GitHub" is configured: the login route redirects to GitHub when it is
 * and answers 404 when it is not. The redirect is not followed (an opaque redirect is enough).
 */
export function useGithubAvailable() {
  return useQuery({
    queryKey: authKeys.github,
    queryFn: async () => {
      try {
        const response = await fetch(GITHUB_LOGIN_URL, {
          redirect: "manual",
          credentials: "same-origin",
        });
        return (
          response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)
        );
      } catch {
        return false;
      }
    },
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
}
