import { zodResolver } from "@hookform/resolvers/zod";
import { Button, Group, Modal, SimpleGrid, Stack, TextInput } from "@mantine/core";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useTrackPull } from "@/api/pulls";
import type { PullRequestOut } from "@/client/types.gen";
import { FormError } from "@/components/FormError";
import { applyServerErrors } from "@/lib/forms";

const optionalSha = z
  .string()
  .trim()
  .regex(/^([0-9a-fA-F]{7,64})?$/, "A commit id: 7 to 64 hexadecimal characters, or empty");

export const refsSchema = {
  base_ref: z.string().trim().max(255, "At most 255 characters"),
  head_ref: z.string().trim().max(255, "At most 255 characters"),
  base_sha: optionalSha,
  head_sha: optionalSha,
};

const schema = z.object({
  number: z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,9}$/, "The pull request's number in the repository, e.g. 42"),
  title: z.string().trim().min(1, "Give the title").max(300, "At most 300 characters"),
  author: z.string().trim().max(255, "At most 255 characters"),
  ...refsSchema,
});
type TrackValues = z.infer<typeof schema>;
const FIELDS = [
  "number",
  "title",
  "author",
  "base_ref",
  "head_ref",
  "base_sha",
  "head_sha",
] as const;

/** Track a pull request by hand (GitHub's webhook tracks them by itself). */
export function TrackPullModal({
  projectId,
  defaultBranch,
  opened,
  onClose,
  onTracked,
}: {
  projectId: string;
  defaultBranch: string;
  opened: boolean;
  onClose: () => void;
  onTracked: (pull: PullRequestOut) => void;
}) {
  const track = useTrackPull();
  const defaults: TrackValues = {
    number: "",
    title: "",
    author: "",
    base_ref: defaultBranch,
    head_ref: "",
    base_sha: "",
    head_sha: "",
  };
  const form = useForm<TrackValues>({ resolver: zodResolver(schema), defaultValues: defaults });
  const close = () => {
    form.reset(defaults);
    track.reset();
    onClose();
  };
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const pull = await track.mutateAsync({
        project_id: projectId,
        number: Number(values.number),
        title: values.title,
        author: values.author,
        base_ref: values.base_ref,
        head_ref: values.head_ref,
        base_sha: values.base_sha || null,
        head_sha: values.head_sha || null,
      });
      form.reset(defaults);
      track.reset();
      onTracked(pull);
    } catch (caught) {
      applyServerErrors(caught, form.setError, FIELDS);
    }
  });
  const error = (name: (typeof FIELDS)[number]) => form.formState.errors[name]?.message;
  return (
    <Modal opened={opened} onClose={close} title="Track a pull request" size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="Number"
              required
              inputMode="numeric"
              data-autofocus
              {...form.register("number")}
              error={error("number")}
            />
            <TextInput label="Author" {...form.register("author")} error={error("author")} />
          </SimpleGrid>
          <TextInput label="Title" required {...form.register("title")} error={error("title")} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="Base branch"
              description="The branch it merges into"
              {...form.register("base_ref")}
              error={error("base_ref")}
            />
            <TextInput
              label="Head branch"
              description="The branch with the changes"
              {...form.register("head_ref")}
              error={error("head_ref")}
            />
            <TextInput
              label="Base commit"
              description="Optional; the base branch's tip when empty"
              {...form.register("base_sha")}
              error={error("base_sha")}
            />
            <TextInput
              label="Head commit"
              description="Optional; the head branch's tip when empty"
              {...form.register("head_sha")}
              error={error("head_sha")}
            />
          </SimpleGrid>
          <FormError error={track.error} fields={FIELDS} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={track.isPending}>
              Track pull request
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
