/**
 * The fields an issue is written with (create and edit share them): the same limits as the
 * issues service (title 1-300, description up to 50,000, up to 20 labels of 1-50 characters),
 * so most mistakes are caught before a round trip; what only the server knows comes back as
 * `errors[]` and lands on the same fields.
 */
import { NativeSelect, Stack, Textarea, TextInput } from "@mantine/core";
import type { UseFormReturn } from "react-hook-form";
import { z } from "zod";
import { parseLabels } from "@/features/issues/format";
import { PRIORITIES } from "@/features/issues/search";

export const issueSchema = z.object({
  title: z.string().trim().min(1, "Give the issue a title").max(300, "At most 300 characters"),
  description: z.string().max(50_000, "At most 50,000 characters"),
  priority: z.enum(PRIORITIES),
  labels: z
    .string()
    .refine((text) => parseLabels(text).length <= 20, "At most 20 labels")
    .refine(
      (text) => parseLabels(text).every((label) => label.length <= 50),
      "Each label has at most 50 characters",
    ),
  // Only the create form shows it (an issue's GitHub link is set once, when it is created).
  github_number: z
    .string()
    .trim()
    .regex(/^\d*$/, "A GitHub issue number, like 42")
    .refine((text) => text === "" || Number(text) < 2 ** 31, "At most 2147483647"),
});
export type IssueValues = z.infer<typeof issueSchema>;
export const ISSUE_FIELDS = [
  "title",
  "description",
  "priority",
  "labels",
  "github_number",
] as const;

const PRIORITY_OPTIONS = PRIORITIES.map((p) => ({ value: p, label: p }));

export function IssueFields({
  form,
  autoFocus = false,
}: {
  form: UseFormReturn<IssueValues>;
  autoFocus?: boolean;
}) {
  const errors = form.formState.errors;
  return (
    <Stack gap="sm">
      <TextInput
        label="Title"
        required
        data-autofocus={autoFocus || undefined}
        {...form.register("title")}
        error={errors.title?.message}
      />
      <Textarea
        label="Description"
        description="Markdown (raw HTML is not rendered)."
        autosize
        minRows={4}
        maxRows={16}
        {...form.register("description")}
        error={errors.description?.message}
      />
      <NativeSelect
        label="Priority"
        data={PRIORITY_OPTIONS}
        w={200}
        {...form.register("priority")}
        error={errors.priority?.message}
      />
      <TextInput
        label="Labels"
        description="Comma-separated, for example: bug, ui"
        {...form.register("labels")}
        error={errors.labels?.message}
      />
    </Stack>
  );
}
