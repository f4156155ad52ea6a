import { zodResolver } from "@hookform/resolvers/zod";
import { Alert, Button, Stack, Text, TextInput } from "@mantine/core";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useRegister } from "@/api/auth";
import { FormError } from "@/components/FormError";
import { AnchorLink, ButtonLink } from "@/components/links";
import { AuthCard } from "@/features/auth/AuthCard";
import { PasswordField } from "@/features/auth/PasswordField";
import { passwordAcceptable } from "@/features/auth/passwordPolicy";
import { applyServerErrors } from "@/lib/forms";

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,38}$/;

const schema = z
  .object({
    username: z
      .string()
      .trim()
      .regex(USERNAME, "3-39 letters, digits, '_', '.', '-', starting with a letter or digit"),
    email: z.string().trim().email("Enter a valid email address"),
    full_name: z.string().trim().max(200, "At most 200 characters"),
    password: z.string(),
  })
  .refine((v) => passwordAcceptable(v.password, v.username, v.email), {
    path: ["password"],
    message: "The password does not meet the rules below",
  });
type RegisterValues = z.infer<typeof schema>;
const FIELDS = ["username", "email", "full_name", "password"] as const;

export function RegisterPage() {
  const register = useRegister();
  const [done, setDone] = useState<{ username: string; email: string } | null>(null);
  const form = useForm<RegisterValues>({
    resolver: zodResolver(schema),
    defaultValues: { username: "", email: "", full_name: "", password: "" },
    mode: "onTouched",
  });
  const [password, username, email] = form.watch(["password", "username", "email"]);

  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const user = await register.mutateAsync(values);
      setDone({ username: user.username, email: user.email });
    } catch (caught) {
      applyServerErrors(caught, form.setError, FIELDS);
    }
  });

  if (done) {
    return (
      <AuthCard title="Account created">
        <Alert color="green" variant="light" title={`Welcome, ${done.username}`}>
          <Text size="sm">
            We sent a message to {done.email}: follow its link to verify the address. You can sign
            in now.
          </Text>
        </Alert>
        <ButtonLink to="/sign-in" fullWidth>
          Sign in
        </ButtonLink>
      </AuthCard>
    );
  }

  return (
    <AuthCard title="Create an account">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <TextInput
            label="Username"
            autoComplete="username"
            required
            {...form.register("username")}
            error={form.formState.errors.username?.message}
          />
          <TextInput
            label="Email"
            type="email"
            autoComplete="email"
            required
            {...form.register("email")}
            error={form.formState.errors.email?.message}
          />
          <TextInput
            label="Full name (optional)"
            autoComplete="name"
            {...form.register("full_name")}
            error={form.formState.errors.full_name?.message}
          />
          <PasswordField
            label="Password"
            autoComplete="new-password"
            required
            field={form.register("password")}
            error={form.formState.errors.password?.message}
            policy={{ id: "password-policy", password, username, email }}
          />
          <FormError error={register.error} fields={FIELDS} />
          <Button type="submit" loading={register.isPending} fullWidth>
            Create account
          </Button>
        </Stack>
      </form>
      <Text size="sm">
        Already have an account? <AnchorLink to="/sign-in">Sign in</AnchorLink>
      </Text>
    </AuthCard>
  );
}
