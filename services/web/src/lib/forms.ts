/** Server validation errors onto react-hook-form fields; what has no field stays form-wide. */
import type { FieldValues, Path, UseFormSetError } from "react-hook-form";
import { fieldErrors } from "@/lib/errors";

/** Puts each server field error on its field; returns true when at least one field got one. */
export function applyServerErrors<T extends FieldValues>(
  error: unknown,
  setError: UseFormSetError<T>,
  fields: readonly Path<T>[],
): boolean {
  let applied = false;
  for (const [name, message] of Object.entries(fieldErrors(error))) {
    const field = fields.find((f) => f === name || name.startsWith(`${f}.`));
    if (field) {
      setError(field, { type: "server", message });
      applied = true;
    }
  }
  return applied;
}
