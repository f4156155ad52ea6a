import { zodResolver } from "@hookform/resolvers/zod";
import { Badge, Button, Code, Group, Skeleton, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useResendVerification, useUpdateProfile } from "@/api/account";
import { useMe } from "@/api/auth";
import type { ProfileUpdate, UserOut } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { Section } from "@/components/Section";
import { PasswordField } from "@/features/auth/PasswordField";
import { ApiError } from "@/lib/errors";
import { formatDate } from "@/lib/format";
import { applyServerErrors } from "@/lib/forms";

const schema = z.object({
  full_name: z.string().trim().max(200, "At most 200 characters"),
  email: z.string().trim().email("Enter a valid email address"),
  current_password: z.string(),
});
export type ProfileValues = z.infer<typeof schema>;
const FIELDS = ["full_name", "email", "current_password"] as const;

/**
 * What to send: only what changed. A new e-mail address carries the current password (the
 * address is where password resets go); undefined when the form asks for it first.
 */
export function profileChanges(me: UserOut, values: ProfileValues): ProfileUpdate | undefined {
  const body: ProfileUpdate = {};
  if (values.full_name.trim() !== me.full_name) body.full_name = values.full_name.trim();
  const email = values.email.trim();
  if (email.toLowerCase() !== me.email.toLowerCase()) {
    if (!values.current_password) return undefined;
    body.email = email;
    body.current_password = values.current_password;
  }
  return body;
}

function ProfileForm({ me }: { me: UserOut }) {
  const update = useUpdateProfile();
  const form = useForm<ProfileValues>({
    resolver: zodResolver(schema),
    values: { full_name: me.full_name, email: me.email, current_password: "" },
  });
  const email = form.watch("email");
  const emailChanged = email.trim().toLowerCase() !== me.email.toLowerCase();

  const onSubmit = form.handleSubmit(async (values) => {
    const body = profileChanges(me, values);
    if (!body) {
      form.setError("current_password", {
        message: "Enter your current password to change the email address",
      });
      return;
    }
    if (Object.keys(body).length === 0) return;
    try {
      const saved = await update.mutateAsync(body);
      form.reset({ full_name: saved.full_name, email: saved.email, current_password: "" });
    } catch (caught) {
      if (!applyServerErrors(caught, form.setError, FIELDS) && caught instanceof ApiError) {
        // A wrong current password is a 403 naming its field; anything else stays form-wide.
        if (caught.status === 403 && emailChanged) {
          form.setError("current_password", { message: caught.message });
        }
      }
    }
  });

  return (
    <Section id="profile" title="Profile">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm" maw={480}>
          <Text size="sm">
            Username: <strong>{me.username}</strong> (it cannot be changed)
          </Text>
          <TextInput
            label="Full name"
            autoComplete="name"
            {...form.register("full_name")}
            error={form.formState.errors.full_name?.message}
          />
          <TextInput
            label="Email"
            type="email"
            autoComplete="email"
            description="Password reset links are sent here."
            {...form.register("email")}
            error={form.formState.errors.email?.message}
          />
          {emailChanged && (
            <PasswordField
              label="Current password"
              autoComplete="current-password"
              description="Changing the email address needs your current password."
              required
              field={form.register("current_password")}
              error={form.formState.errors.current_password?.message}
            />
          )}
          <FormError error={update.error} fields={FIELDS} />
          {update.isSuccess && !form.formState.isDirty && (
            <Text size="sm" role="status">
              Saved.
            </Text>
          )}
          <Group>
            <Button type="submit" loading={update.isPending} disabled={!form.formState.isDirty}>
              Save profile
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

function Verification({ me }: { me: UserOut }) {
  const resend = useResendVerification();
  if (me.email_verified) {
    return <Text size="sm">Email address: verified</Text>;
  }
  return (
    <Stack gap={4}>
      <Group gap="xs">
        <Text size="sm">Email address: not verified yet.</Text>
        <Button
          size="compact-sm"
          variant="light"
          onClick={() => resend.mutate()}
          loading={resend.isPending}
          disabled={resend.isSuccess}
        >
          Send a new link
        </Button>
      </Group>
      {resend.isSuccess && (
        <Text size="sm" role="status">
          {resend.data.detail}
        </Text>
      )}
      <FormError error={resend.error} fields={[]} />
    </Stack>
  );
}

function AboutSection({ me }: { me: UserOut }) {
  return (
    <Section id="about" title="About this account">
      <Stack gap={6}>
        <Text size="sm">
          User id (people add you to projects with it): <Code>{me.id}</Code>
        </Text>
        <Group gap="xs">
          <Text size="sm">Roles:</Text>
          {me.roles.map((role) => (
            <Badge key={role} variant="outline" color="dark">
              {role}
            </Badge>
          ))}
        </Group>
        <Verification me={me} />
        <Text size="sm">Two-factor authentication: {me.totp_enabled ? "on" : "off"}</Text>
        <Text size="sm">GitHub account linked: {me.github_linked ? "yes" : "no"}</Text>
        <Text size="sm">Created: {formatDate(me.created_at)}</Text>
        <Text size="sm">Last sign-in: {formatDate(me.last_login_at, "never")}</Text>
      </Stack>
    </Section>
  );
}

export function ProfilePage() {
  const me = useMe();
  if (me.isPending) return <Skeleton h={200} />;
  if (me.isError) return <ErrorView error={me.error} onRetry={() => me.refetch()} />;
  return (
    <Stack gap="md">
      <ProfileForm me={me.data} />
      <AboutSection me={me.data} />
    </Stack>
  );
}
