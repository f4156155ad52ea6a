import { zodResolver } from "@hookform/resolvers/zod";
import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  List,
  Skeleton,
  Stack,
  Text,
} from "@mantine/core";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useChangePassword, useConfirmTotp, useDisableTotp, useEnrollTotp } from "@/api/account";
import { useMe } from "@/api/auth";
import type { TotpEnrollOut, UserOut } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { QrCode } from "@/components/QrCode";
import { Section } from "@/components/Section";
import { PasswordField } from "@/features/auth/PasswordField";
import { passwordAcceptable } from "@/features/auth/passwordPolicy";
import { TotpCodeField } from "@/features/auth/TotpCodeField";
import { ApiError } from "@/lib/errors";
import { applyServerErrors } from "@/lib/forms";

/** A 401 here is the server saying the password typed is wrong, not a lost session. */
function wrongPassword(error: unknown): string | null {
  return error instanceof ApiError && error.status === 401 ? error.message : null;
}

function passwordSchema(me: UserOut) {
  return z
    .object({
      current_password: z.string().min(1, "Enter your current password"),
      new_password: z.string(),
      repeat: z.string(),
    })
    .refine((v) => passwordAcceptable(v.new_password, me.username, me.email), {
      path: ["new_password"],
      message: "The password does not meet the rules below",
    })
    .refine((v) => v.repeat === v.new_password, {
      path: ["repeat"],
      message: "The two new passwords differ",
    });
}
type PasswordValues = { current_password: string; new_password: string; repeat: string };
const PASSWORD_FIELDS = ["current_password", "new_password", "repeat", "password"] as const;

function PasswordSection({ me }: { me: UserOut }) {
  const change = useChangePassword();
  const [done, setDone] = useState(false);
  const form = useForm<PasswordValues>({
    resolver: zodResolver(passwordSchema(me)),
    // Checked on submit, not on leaving a field: tabbing past the form to two-factor
    // authentication must not mark its empty fields wrong (the policy list is live anyway).
    defaultValues: { current_password: "", new_password: "", repeat: "" },
  });
  const password = form.watch("new_password");

  const onSubmit = form.handleSubmit(async (values) => {
    setDone(false);
    try {
      await change.mutateAsync({
        current_password: values.current_password,
        new_password: values.new_password,
      });
      form.reset();
      setDone(true);
    } catch (caught) {
      const wrong = wrongPassword(caught);
      if (wrong) form.setError("current_password", { message: wrong });
      // The policy's messages name `password`; this form calls it new_password.
      applyServerErrors(caught, form.setError, ["current_password", "new_password"], {
        password: "new_password",
      });
    }
  });

  return (
    <Section id="password" title="Change password">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm" maw={480}>
          <Text size="sm">
            Changing your password signs you out on every other device and browser (their sessions
            end at once); this one stays signed in.
          </Text>
          <PasswordField
            label="Current password"
            autoComplete="current-password"
            required
            field={form.register("current_password")}
            error={form.formState.errors.current_password?.message}
          />
          <PasswordField
            label="New password"
            autoComplete="new-password"
            required
            field={form.register("new_password")}
            error={form.formState.errors.new_password?.message}
            policy={{
              id: "new-password-policy",
              password,
              username: me.username,
              email: me.email,
            }}
          />
          <PasswordField
            label="Repeat the new password"
            autoComplete="new-password"
            required
            field={form.register("repeat")}
            error={form.formState.errors.repeat?.message}
          />
          {!wrongPassword(change.error) && (
            <FormError error={change.error} fields={PASSWORD_FIELDS} />
          )}
          {done && (
            <Alert color="green" variant="light" role="status" title="Password changed">
              Your other sessions have ended; sign in there again with the new password.
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={change.isPending}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

const codeField = z
  .string()
  .trim()
  .regex(/^\d{6,8}$/, "Enter the 6-digit code your authenticator app shows");

/** The base32 secret in groups of four, as authenticator apps show and accept it. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, "").replace(/(.{4})(?=.)/g, "$1 ");
}

function EnrolForm({ enrollment, onCancel }: { enrollment: TotpEnrollOut; onCancel: () => void }) {
  const confirm = useConfirmTotp();
  const form = useForm<{ code: string }>({
    resolver: zodResolver(z.object({ code: codeField })),
    defaultValues: { code: "" },
  });
  const onSubmit = form.handleSubmit(async ({ code }) => {
    try {
      await confirm.mutateAsync(code);
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["code"]);
    }
  });
  return (
    <Stack gap="sm">
      <List type="ordered" size="sm" spacing={4}>
        <List.Item>
          Scan this QR code with an authenticator app (FreeOTP, Aegis, Google Authenticator,
          1Password…).
        </List.Item>
        <List.Item>Or type the secret key into the app by hand (time-based, 6 digits).</List.Item>
        <List.Item>Enter the code the app shows to turn two-factor authentication on.</List.Item>
      </List>
      <Group align="flex-start" gap="lg" wrap="wrap">
        <QrCode value={enrollment.otpauth_uri} label="QR code to scan with an authenticator app" />
        <Stack gap="xs" maw={360}>
          <Text size="sm" fw={600} id="totp-secret-label">
            Secret key
          </Text>
          <Code block aria-labelledby="totp-secret-label" data-testid="totp-secret">
            {groupSecret(enrollment.secret)}
          </Code>
          <CopyButton value={enrollment.secret}>
            {({ copied, copy }) => (
              <Button size="xs" variant="default" onClick={copy} w="fit-content">
                {copied ? "Copied" : "Copy secret key"}
              </Button>
            )}
          </CopyButton>
          <form onSubmit={onSubmit} noValidate>
            <Stack gap="sm">
              <TotpCodeField
                required
                field={form.register("code")}
                error={form.formState.errors.code?.message}
              />
              <FormError error={confirm.error} fields={["code"]} />
              <Group>
                <Button type="submit" loading={confirm.isPending}>
                  Turn on two-factor authentication
                </Button>
                <Button variant="default" onClick={onCancel}>
                  Cancel
                </Button>
              </Group>
            </Stack>
          </form>
        </Stack>
      </Group>
    </Stack>
  );
}

function DisableForm({ me, onDisabled }: { me: UserOut; onDisabled: () => void }) {
  const disable = useDisableTotp();
  // An account made through GitHub may have no password; the server then checks the code only.
  const schema = z.object({
    password: me.github_linked ? z.string() : z.string().min(1, "Enter your password"),
    code: codeField,
  });
  const form = useForm<{ password: string; code: string }>({
    resolver: zodResolver(schema),
    defaultValues: { password: "", code: "" },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await disable.mutateAsync(values);
      onDisabled();
    } catch (caught) {
      const wrong = wrongPassword(caught);
      if (wrong) form.setError("password", { message: wrong });
      applyServerErrors(caught, form.setError, ["password", "code"]);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="sm" maw={480}>
        <Text size="sm">
          To turn it off, confirm with your password and a current code from your app.
        </Text>
        <PasswordField
          label="Password"
          autoComplete="current-password"
          required={!me.github_linked}
          field={form.register("password")}
          error={form.formState.errors.password?.message}
        />
        <TotpCodeField
          required
          field={form.register("code")}
          error={form.formState.errors.code?.message}
        />
        {!wrongPassword(disable.error) && (
          <FormError error={disable.error} fields={["password", "code"]} />
        )}
        <Group>
          <Button type="submit" color="red.9" variant="outline" loading={disable.isPending}>
            Turn off two-factor authentication
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function TotpSection({ me }: { me: UserOut }) {
  const enrol = useEnrollTotp();
  const [enrollment, setEnrollment] = useState<TotpEnrollOut | null>(null);
  const start = async () => {
    try {
      setEnrollment(await enrol.mutateAsync());
    } catch {
      // Shown below (enrol.error).
    }
  };
  return (
    <Section id="totp" title="Two-factor authentication">
      <Stack gap="sm">
        <Group gap="xs">
          <Text size="sm">Status:</Text>
          <Badge variant="outline" color={me.totp_enabled ? "#1e6a2e" : "gray.8"}>
            {me.totp_enabled ? "on" : "off"}
          </Badge>
        </Group>
        {me.totp_enabled ? (
          <>
            {enrollment && (
              <Alert
                color="green"
                variant="light"
                role="status"
                title="Two-factor authentication is on"
              >
                Every sign-in now asks for a code from your authenticator app.
              </Alert>
            )}
            <DisableForm me={me} onDisabled={() => setEnrollment(null)} />
          </>
        ) : enrollment ? (
          <EnrolForm enrollment={enrollment} onCancel={() => setEnrollment(null)} />
        ) : (
          <>
            <Text size="sm">
              With two-factor authentication on, signing in needs a code from an app on your phone
              as well as your password.
            </Text>
            {enrol.error ? <ErrorView error={enrol.error} /> : null}
            <Group>
              <Button onClick={start} loading={enrol.isPending}>
                Set up two-factor authentication
              </Button>
            </Group>
          </>
        )}
      </Stack>
    </Section>
  );
}

export function SecurityPage() {
  const me = useMe();
  if (me.isPending) return <Skeleton h={200} />;
  if (me.isError) return <ErrorView error={me.error} onRetry={() => me.refetch()} />;
  return (
    <Stack gap="md">
      <PasswordSection me={me.data} />
      <TotpSection me={me.data} />
    </Stack>
  );
}
