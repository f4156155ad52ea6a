import { zodResolver } from "@hookform/resolvers/zod";
import { Alert, Button, Divider, Group, Stack, Text, TextInput } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { GITHUB_LOGIN_URL, useGithubAvailable } from "@/api/auth";
import { FormError } from "@/components/FormError";
import { AnchorLink } from "@/components/links";
import { AuthCard } from "@/features/auth/AuthCard";
import { PasswordField } from "@/features/auth/PasswordField";
import { TotpCodeField } from "@/features/auth/TotpCodeField";
import { needsTotp, type SignOutReason, signIn } from "@/lib/auth";
import { applyServerErrors } from "@/lib/forms";
import { safeRedirect } from "@/lib/redirect";

const schema = z.object({
  username: z.string().trim().min(1, "Enter your username or email"),
  password: z.string().min(1, "Enter your password"),
  totp_code: z.string().trim().optional(),
});
type SignInValues = z.infer<typeof schema>;
const FIELDS = ["username", "password", "totp_code"] as const;

/** Why a signed-in page ended up here: the server refused the session, or another tab left. */
function SignedOutNotice({ reason }: { reason: SignOutReason }) {
  if (reason === "signed-out") {
    return (
      <Alert color="gray" variant="light" title="Signed out" role="status">
        You signed out in another tab of this browser.
      </Alert>
    );
  }
  return (
    <Alert color="yellow" variant="light" title="You have been signed out" role="alert">
      The server ended your session. This happens when it was revoked from another device, when your
      password or roles changed, or when an administrator locked or disabled your account. Sign in
      again; if that fails, ask an administrator.
    </Alert>
  );
}

export function SignInPage() {
  const search = useSearch({ from: "/sign-in" });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const github = useGithubAvailable();
  const [totpStep, setTotpStep] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const form = useForm<SignInValues>({
    resolver: zodResolver(schema),
    defaultValues: { username: "", password: "", totp_code: "" },
  });

  const onSubmit = form.handleSubmit(async (values) => {
    setError(null);
    if (totpStep && !values.totp_code) {
      form.setError("totp_code", { message: "Enter the 6-digit code from your authenticator app" });
      return;
    }
    try {
      await signIn({
        username: values.username,
        password: values.password,
        ...(totpStep && values.totp_code ? { totp_code: values.totp_code } : {}),
      });
      queryClient.clear();
      await navigate({ href: safeRedirect(search.redirect) });
    } catch (caught) {
      if (needsTotp(caught) && !totpStep) {
        setTotpStep(true);
        return;
      }
      applyServerErrors(caught, form.setError, FIELDS);
      setError(caught);
    }
  });

  return (
    <AuthCard
      title={totpStep ? "Two-factor authentication" : "Sign in"}
      subtitle={
        totpStep
          ? "Enter the code your authenticator app shows for this account."
          : "Sign in with your username or email address."
      }
    >
      {search.reason && !totpStep && <SignedOutNotice reason={search.reason} />}
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          {!totpStep && (
            <>
              <TextInput
                label="Username or email"
                autoComplete="username"
                autoFocus
                {...form.register("username")}
                error={form.formState.errors.username?.message}
              />
              <PasswordField
                label="Password"
                autoComplete="current-password"
                field={form.register("password")}
                error={form.formState.errors.password?.message}
              />
            </>
          )}
          {totpStep && (
            <TotpCodeField
              autoFocus
              field={form.register("totp_code")}
              error={form.formState.errors.totp_code?.message}
            />
          )}
          <FormError error={error} fields={FIELDS} />
          <Button type="submit" loading={form.formState.isSubmitting} fullWidth>
            {totpStep ? "Verify" : "Sign in"}
          </Button>
          {totpStep && (
            <Button
              variant="subtle"
              onClick={() => {
                setTotpStep(false);
                setError(null);
                form.setValue("totp_code", "");
              }}
            >
              Back
            </Button>
          )}
        </Stack>
      </form>
      {!totpStep && github.data && (
        <>
          <Divider label="or" labelPosition="center" />
          <Button component="a" href={GITHUB_LOGIN_URL} variant="default" fullWidth>
            Sign in with GitHub
          </Button>
        </>
      )}
      {!totpStep && (
        <Group justify="space-between">
          <AnchorLink to="/register" size="sm">
            Create an account
          </AnchorLink>
          <AnchorLink to="/reset-password" size="sm">
            Forgot your password?
          </AnchorLink>
        </Group>
      )}
      {search.redirect && !totpStep && (
        <Text size="xs" c="dimmed">
          You will return to the page you were on after signing in.
        </Text>
      )}
    </AuthCard>
  );
}
