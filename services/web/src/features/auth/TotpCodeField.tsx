import { TextInput } from "@mantine/core";
import type { UseFormRegisterReturn } from "react-hook-form";

/**
 * The field for a code from an authenticator app, the one markup for signing in and for turning
 * two-factor authentication on and off: a number pad on phones, and the one-time code a browser
 * or password manager offers.
 */
export function TotpCodeField({
  field,
  error,
  required,
  autoFocus,
}: {
  /** The form's registration of the field (react-hook-form's `register(name)`). */
  field: UseFormRegisterReturn;
  error?: string;
  required?: boolean;
  autoFocus?: boolean;
}) {
  return (
    <TextInput
      label="Authentication code"
      inputMode="numeric"
      autoComplete="one-time-code"
      required={required}
      autoFocus={autoFocus}
      {...field}
      error={error}
    />
  );
}
