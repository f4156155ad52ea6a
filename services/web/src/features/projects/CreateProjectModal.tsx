import { zodResolver } from "@hookform/resolvers/zod";
import { Button, Group, Modal, Stack, Textarea, TextInput } from "@mantine/core";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useCreateProject } from "@/api/projects";
import type { ProjectCreated } from "@/client/types.gen";
import { FormError } from "@/components/FormError";
import { applyServerErrors } from "@/lib/forms";

const schema = z.object({
  name: z.string().trim().min(1, "Give the project a name").max(100, "At most 100 characters"),
  repository_url: z
    .string()
    .trim()
    .min(1, "Enter the repository's URL")
    .max(2048, "At most 2048 characters"),
  default_branch: z.string().trim().min(1, "Enter the default branch"),
  description: z.string().max(5000, "At most 5000 characters"),
});
type CreateValues = z.infer<typeof schema>;
const FIELDS = ["name", "repository_url", "default_branch", "description"] as const;

/**
 * Register a repository. The URL is checked by the server (allowed hosts, form of the URL); its
 * message is shown under the field.
 */
export function CreateProjectModal({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (project: ProjectCreated) => void;
}) {
  const create = useCreateProject();
  const form = useForm<CreateValues>({
    resolver: zodResolver(schema),
    defaultValues: { name: "", repository_url: "", default_branch: "main", description: "" },
  });
  const close = () => {
    form.reset();
    create.reset();
    onClose();
  };
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const project = await create.mutateAsync(values);
      form.reset();
      create.reset();
      onCreated(project);
    } catch (caught) {
      applyServerErrors(caught, form.setError, FIELDS);
    }
  });
  return (
    <Modal opened={opened} onClose={close} title="New project" size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <TextInput
            label="Name"
            required
            data-autofocus
            {...form.register("name")}
            error={form.formState.errors.name?.message}
          />
          <TextInput
            label="Repository URL"
            description="For example https://github.com/owner/repository"
            required
            {...form.register("repository_url")}
            error={form.formState.errors.repository_url?.message}
          />
          <TextInput
            label="Default branch"
            required
            {...form.register("default_branch")}
            error={form.formState.errors.default_branch?.message}
          />
          <Textarea
            label="Description"
            autosize
            minRows={2}
            {...form.register("description")}
            error={form.formState.errors.description?.message}
          />
          <FormError error={create.error} fields={FIELDS} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create project
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
