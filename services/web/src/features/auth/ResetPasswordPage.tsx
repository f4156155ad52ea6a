import { zodResolver } from "@hookform/resolvers/zod";
import { Alert, Button, Stack, Text, TextInput } from "@mantine/core";
import { useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useConfirmReset, useRequestReset } from "@/api/auth";
import { FormError } from "@/components/FormError";
import { AnchorLink, ButtonLink } from "@/components/links";
import { AuthCard } from "@/features/auth/AuthCard";
import { PasswordField } from "@/features/auth/PasswordField";
import { passwordAcceptable } from "@/features/auth/passwordPolicy";
import { applyServerErrors } from "@/lib/forms";

const requestSchema = z.object({ email: z.string().trim().email("Enter a valid email address") });

function RequestReset() {
  const request = useRequestReset();
  const form = useForm<z.infer<typeof requestSchema>>({
    resolver: zodResolver(requestSchema),
    defaultValues: { email: "" },
  });
  const onSubmit = form.handleSubmit(async ({ email }) => {
    try {
      await request.mutateAsync(email);
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["email"]);
    }
  });
  if (request.isSuccess) {
    return (
      <AuthCard title="Check your email">
        <Alert color="blue" variant="light" role="status">
          {request.data.detail} The link in it is valid for 30 minutes.
        </Alert>
        <AnchorLink to="/sign-in" size="sm">
          Back to sign in
        </AnchorLink>
      </AuthCard>
    );
  }
  return (
    <AuthCard
      title="Reset your password"
      subtitle="Enter the email address of your account; we will send you a link to set a new password."
    >
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <TextInput
            label="Email"
            type="email"
            autoComplete="email"
            {...form.register("email")}
            error={form.formState.errors.email?.message}
          />
          <FormError error={request.error} fields={["email"]} />
          <Button type="submit" loading={request.isPending} fullWidth>
            Send reset link
          </Button>
        </Stack>
      </form>
      <AnchorLink to="/sign-in" size="sm">
        Back to sign in
      </AnchorLink>
    </AuthCard>
  );
}

const confirmSchema = z
  .object({ new_password: z.string(), repeat: z.string() })
  .refine((v) => passwordAcceptable(v.new_password), {
    path: ["new_password"],
    message: "The password does not meet the rules below",
  })
  .refine((v) => v.new_password === v.repeat, {
    path: ["repeat"],
    message: "The two passwords differ",
  });

function ConfirmReset({ token }: { token: string }) {
  const confirm = useConfirmReset();
  const [done, setDone] = useState(false);
  const form = useForm<z.infer<typeof confirmSchema>>({
    resolver: zodResolver(confirmSchema),
    defaultValues: { new_password: "", repeat: "" },
    mode: "onTouched",
  });
  const password = form.watch("new_password");
  const onSubmit = form.handleSubmit(async ({ new_password }) => {
    try {
      await confirm.mutateAsync({ token, new_password });
      setDone(true);
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["new_password"]);
    }
  });
  if (done) {
    return (
      <AuthCard title="Password changed">
        <Alert color="green" variant="light" role="status">
          Your password has been changed and your other sessions were signed out.
        </Alert>
        <ButtonLink to="/sign-in" fullWidth>
          Sign in
        </ButtonLink>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Choose a new password">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <PasswordField
            label="New password"
            autoComplete="new-password"
            field={form.register("new_password")}
            error={form.formState.errors.new_password?.message}
            policy={{ id: "reset-policy", password }}
          />
          <PasswordField
            label="Repeat the new password"
            autoComplete="new-password"
            field={form.register("repeat")}
            error={form.formState.errors.repeat?.message}
          />
          <FormError error={confirm.error} fields={["new_password"]} />
          <Button type="submit" loading={confirm.isPending} fullWidth>
            Set new password
          </Button>
        </Stack>
      </form>
      <Text size="sm">
        Link expired? <AnchorLink to="/reset-password">Ask for a new one</AnchorLink>
      </Text>
    </AuthCard>
  );
}

/** /reset-password asks for a link; /reset-password?token=… (the link) sets the new password. */
export function ResetPasswordPage() {
  const { token } = useSearch({ from: "/reset-password" });
  return token ? <ConfirmReset token={token} /> : <RequestReset />;
}
