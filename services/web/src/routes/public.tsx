/** Pages for visitors who are not signed in: sign in, register, password reset. */
import { createRoute, redirect } from "@tanstack/react-router";
import { RegisterPage } from "@/features/auth/RegisterPage";
import { ResetPasswordPage } from "@/features/auth/ResetPasswordPage";
import { SignInPage } from "@/features/auth/SignInPage";
import { VerifyEmailPage } from "@/features/auth/VerifyEmailPage";
import { restoreSession, type SignOutReason } from "@/lib/auth";
import { safeRedirect } from "@/lib/redirect";
import { rootRoute } from "@/routes/__root";

export interface SignInSearch {
  redirect?: string;
  /** Why the user is here: the server ended the session, or another tab signed out. */
  reason?: SignOutReason;
}

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  validateSearch: (search: Record<string, unknown>): SignInSearch => ({
    ...(typeof search.redirect === "string" ? { redirect: search.redirect } : {}),
    ...(search.reason === "ended" || search.reason === "signed-out"
      ? { reason: search.reason }
      : {}),
  }),
  beforeLoad: async ({ search }) => {
    if ((await restoreSession()) === "signed-in") {
      throw redirect({ href: safeRedirect(search.redirect) });
    }
  },
  component: SignInPage,
});

export const registerRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/register",
  component: RegisterPage,
});

export const verifyEmailRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/verify-email",
  validateSearch: (search: Record<string, unknown>): ResetSearch =>
    typeof search.token === "string" && search.token ? { token: search.token } : {},
  component: VerifyEmailPage,
});

export interface ResetSearch {
  token?: string;
}

export const resetPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/reset-password",
  validateSearch: (search: Record<string, unknown>): ResetSearch =>
    typeof search.token === "string" && search.token ? { token: search.token } : {},
  component: ResetPasswordPage,
});
