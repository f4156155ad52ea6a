import { ErrorView } from "@/components/ErrorView";
import { fieldErrors } from "@/lib/errors";

/**
 * A form's error that is not about one field (or about fields the form does not have). When
 * every message went next to its field, only a short summary with the request id remains.
 */
export function FormError({ error, fields }: { error: unknown; fields: readonly string[] }) {
  if (!error) return null;
  const perField = fieldErrors(error);
  const handled =
    Object.keys(perField).length > 0 &&
    Object.keys(perField).every((f) =>
      fields.some((name) => f === name || f.startsWith(`${name}.`)),
    );
  if (!handled) return <ErrorView error={error} />;
  return (
    <ErrorView
      error={error}
      title="Check the highlighted fields"
      message="The server did not accept some of the values; each field says why."
    />
  );
}
