import { zodResolver } from "@hookform/resolvers/zod";
import { Button, Group, Modal, Stack, TextInput } from "@mantine/core";
import { useForm } from "react-hook-form";
import { useCreateIssue } from "@/api/issues";
import type { IssueOut } from "@/client/types.gen";
import { FormError } from "@/components/FormError";
import { parseLabels } from "@/features/issues/format";
import {
  ISSUE_FIELDS,
  IssueFields,
  type IssueValues,
  issueSchema,
} from "@/features/issues/IssueFields";
import { applyServerErrors } from "@/lib/forms";

const EMPTY: IssueValues = {
  title: "",
  description: "",
  priority: "medium",
  labels: "",
  github_number: "",
};

/** A new issue in the project; the server's field errors appear under their fields. */
export function CreateIssueModal({
  projectId,
  opened,
  onClose,
  onCreated,
}: {
  projectId: string;
  opened: boolean;
  onClose: () => void;
  onCreated: (issue: IssueOut) => void;
}) {
  const create = useCreateIssue();
  const form = useForm<IssueValues>({ resolver: zodResolver(issueSchema), defaultValues: EMPTY });
  const close = () => {
    form.reset(EMPTY);
    create.reset();
    onClose();
  };
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const issue = await create.mutateAsync({
        project_id: projectId,
        title: values.title,
        description: values.description,
        priority: values.priority,
        labels: parseLabels(values.labels),
        github_number: values.github_number ? Number(values.github_number) : null,
      });
      form.reset(EMPTY);
      create.reset();
      onCreated(issue);
    } catch (caught) {
      applyServerErrors(caught, form.setError, ISSUE_FIELDS);
    }
  });
  return (
    <Modal opened={opened} onClose={close} title="New issue" size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          {/* The create form has the edit form's fields, and the GitHub link. */}
          <IssueFields form={form} autoFocus />
          <TextInput
            label="GitHub issue number (optional)"
            description="Links the issue to this number in the project's repository, for sync."
            inputMode="numeric"
            w={280}
            {...form.register("github_number")}
            error={form.formState.errors.github_number?.message}
          />
          <FormError error={create.error} fields={ISSUE_FIELDS} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create issue
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
