import { zodResolver } from "@hookform/resolvers/zod";
import { Button, Group, Modal, NativeSelect, SimpleGrid, Stack, TextInput } from "@mantine/core";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useUpdatePull } from "@/api/pulls";
import type { PullRequestOut, PullRequestUpdate } from "@/client/types.gen";
import { FormError } from "@/components/FormError";
import { PULL_STATES } from "@/features/pulls/labels";
import { refsSchema } from "@/features/pulls/TrackPullModal";
import { applyServerErrors } from "@/lib/forms";

const schema = z.object({
  title: z.string().trim().min(1, "Give the title").max(300, "At most 300 characters"),
  author: z.string().trim().max(255, "At most 255 characters"),
  state: z.enum(["open", "closed", "merged"]),
  ...refsSchema,
});
type EditValues = z.infer<typeof schema>;
const FIELDS = [
  "title",
  "author",
  "state",
  "base_ref",
  "head_ref",
  "base_sha",
  "head_sha",
] as const;

function valuesOf(pull: PullRequestOut): EditValues {
  return {
    title: pull.title,
    author: pull.author,
    state: pull.state,
    base_ref: pull.base_ref,
    head_ref: pull.head_ref,
    base_sha: pull.base_sha ?? "",
    head_sha: pull.head_sha ?? "",
  };
}

/** Change what is tracked of a pull request (GitHub's sync overwrites it from GitHub). */
export function EditPullModal({
  pull,
  opened,
  onClose,
}: {
  pull: PullRequestOut;
  opened: boolean;
  onClose: () => void;
}) {
  const update = useUpdatePull(pull.id);
  const form = useForm<EditValues>({ resolver: zodResolver(schema), values: valuesOf(pull) });
  const close = () => {
    form.reset(valuesOf(pull));
    update.reset();
    onClose();
  };
  const onSubmit = form.handleSubmit(async (values) => {
    // Only what changed; an empty commit id keeps the one tracked.
    const current = valuesOf(pull);
    const body: PullRequestUpdate = {};
    for (const name of FIELDS) {
      if (values[name] !== current[name] && !(name.endsWith("_sha") && values[name] === "")) {
        Object.assign(body, { [name]: values[name] });
      }
    }
    try {
      if (Object.keys(body).length > 0) await update.mutateAsync(body);
      update.reset();
      onClose();
    } catch (caught) {
      applyServerErrors(caught, form.setError, FIELDS);
    }
  });
  const error = (name: (typeof FIELDS)[number]) => form.formState.errors[name]?.message;
  return (
    <Modal opened={opened} onClose={close} title={`Edit pull request #${pull.number}`} size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <TextInput
            label="Title"
            required
            data-autofocus
            {...form.register("title")}
            error={error("title")}
          />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="Author" {...form.register("author")} error={error("author")} />
            <NativeSelect
              label="State"
              data={PULL_STATES.map(({ value, label }) => ({ value, label }))}
              {...form.register("state")}
              error={error("state")}
            />
            <TextInput
              label="Base branch"
              {...form.register("base_ref")}
              error={error("base_ref")}
            />
            <TextInput
              label="Head branch"
              {...form.register("head_ref")}
              error={error("head_ref")}
            />
            <TextInput
              label="Base commit"
              {...form.register("base_sha")}
              error={error("base_sha")}
            />
            <TextInput
              label="Head commit"
              {...form.register("head_sha")}
              error={error("head_sha")}
            />
          </SimpleGrid>
          <FormError error={update.error} fields={FIELDS} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={update.isPending}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
