/** Server validation errors onto react-hook-form fields; what has no field stays form-wide. */
import type { FieldValues, Path, UseFormSetError } from "react-hook-form";
import { fieldErrors } from "@/lib/errors";

/**
 * Puts each server field error on its field; returns true when at least one field got one.
 * `aliases` maps a server's field name to the form's (the policy speaks of `password` where
 * the change-password form has `new_password`).
 */
export function applyServerErrors<T extends FieldValues>(
  error: unknown,
  setError: UseFormSetError<T>,
  fields: readonly Path<T>[],
  aliases: Record<string, Path<T>> = {},
): boolean {
  let applied = false;
  for (const [server, message] of Object.entries(fieldErrors(error))) {
    const name = aliases[server] ?? server;
    const field = fields.find((f) => f === name || name.startsWith(`${f}.`));
    if (field) {
      setError(field, { type: "server", message });
      applied = true;
    }
  }
  return applied;
}
