import { PasswordInput } from "@mantine/core";
import type { UseFormRegisterReturn } from "react-hook-form";
import { PasswordPolicy } from "@/features/auth/PasswordPolicy";

/**
 * A password field of a form: the one markup for signing in, confirming with the current
 * password, and choosing a new one. With `policy` the field is a new password and the live
 * policy checklist stands under it. The field names the checklist in aria-describedby, but
 * Mantine 8.3's PasswordInput writes its own (the error, the description) over it: today the
 * rules reach a screen reader through the checklist's aria-live region.
 */
export function PasswordField({
  label,
  autoComplete,
  field,
  error,
  required,
  description,
  policy,
}: {
  label: string;
  /** What a password manager offers: the saved password, or a new one to save. */
  autoComplete: "current-password" | "new-password";
  /** The form's registration of the field (react-hook-form's `register(name)`). */
  field: UseFormRegisterReturn;
  error?: string;
  required?: boolean;
  description?: string;
  /** The checklist's element id and what its rules check the password against. */
  policy?: { id: string; password: string; username?: string; email?: string };
}) {
  return (
    <>
      <PasswordInput
        label={label}
        autoComplete={autoComplete}
        description={description}
        required={required}
        aria-describedby={policy?.id}
        {...field}
        error={error}
      />
      {policy && (
        <PasswordPolicy
          id={policy.id}
          password={policy.password}
          username={policy.username}
          email={policy.email}
        />
      )}
    </>
  );
}
