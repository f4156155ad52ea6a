import { PasswordInput, type PasswordInputProps } from "@mantine/core";
import type { UseFormRegisterReturn } from "react-hook-form";
import { PasswordPolicy } from "@/features/auth/PasswordPolicy";

/** The description as a div: the checklist holds a heading and a list, which a paragraph may
 * not. Mantine renders `component` (its props follow its own), but does not type it here. */
const CHECKLIST_DESCRIPTION = { component: "div" } as PasswordInputProps["descriptionProps"];

/**
 * A password field of a form: the one markup for signing in, confirming with the current
 * password, and choosing a new one. With `policy` the field is a new password and the live
 * policy checklist is its description, under it: Mantine's PasswordInput names its own
 * description (and the error) in aria-describedby and overwrites one given to it, so the
 * checklist has to be that description for a screen reader to read the rules with the field.
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
    <PasswordInput
      label={label}
      autoComplete={autoComplete}
      required={required}
      {...field}
      error={error}
      // Mantine's PasswordInput marks its inner input data-invalid only.
      aria-invalid={error ? true : undefined}
      description={
        policy ? (
          <PasswordPolicy
            id={policy.id}
            password={policy.password}
            username={policy.username}
            email={policy.email}
          />
        ) : (
          description
        )
      }
      descriptionProps={policy ? CHECKLIST_DESCRIPTION : undefined}
      inputWrapperOrder={policy ? ["label", "input", "error", "description"] : undefined}
    />
  );
}
