import {
  Button,
  Group,
  Modal,
  NativeSelect,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
} from "@mantine/core";
import { useForm } from "react-hook-form";
import { useStartRun } from "@/api/agents";
import { usePulls } from "@/api/pulls";
import type { AgentOut, RunOut, RunStart } from "@/client/types.gen";
import { FormError } from "@/components/FormError";
import { LEVELS } from "@/features/agents/agentTypes";
import { applyServerErrors } from "@/lib/forms";

interface StartValues {
  ref: string;
  pull: string;
  base_ref: string;
  head_ref: string;
  level: string;
  title: string;
  description: string;
}

const FIELDS = [
  "ref",
  "pull_request",
  "pull_request.base_ref",
  "pull_request.head_ref",
  "level",
  "issue",
  "issue.title",
  "issue.description",
  "timeout_seconds",
] as const;

/** Start a run: a branch or commit for an analysis, a pull request for the reviewer. */
export function StartRunModal({
  agent,
  defaultBranch,
  opened,
  onClose,
  onStarted,
}: {
  agent: AgentOut;
  defaultBranch: string;
  opened: boolean;
  onClose: () => void;
  onStarted: (run: RunOut) => void;
}) {
  return (
    <Modal opened={opened} onClose={onClose} title={`Start a run of ${agent.name}`} size="lg">
      {opened && (
        <StartRunForm
          agent={agent}
          defaultBranch={defaultBranch}
          onClose={onClose}
          onStarted={onStarted}
        />
      )}
    </Modal>
  );
}

function StartRunForm({
  agent,
  defaultBranch,
  onClose,
  onStarted,
}: {
  agent: AgentOut;
  defaultBranch: string;
  onClose: () => void;
  onStarted: (run: RunOut) => void;
}) {
  const start = useStartRun(agent.id);
  const reviewer = agent.type === "pr_reviewer";
  const resolver = agent.type === "issue_resolver";
  const pulls = usePulls(agent.project_id, { state: "open" });
  const form = useForm<StartValues>({
    defaultValues: {
      ref: "",
      pull: "",
      base_ref: defaultBranch,
      head_ref: "",
      level: String(agent.config.level ?? "standard"),
      title: "",
      description: "",
    },
  });
  const errors = form.formState.errors;
  // Server errors on pull_request.* and issue.* land on the inputs that carry them.
  const setError = ((name: string, error: { message?: string }) => {
    const target =
      {
        pull_request: "head_ref",
        "pull_request.base_ref": "base_ref",
        "pull_request.head_ref": "head_ref",
        issue: "title",
        "issue.title": "title",
        "issue.description": "description",
      }[name] ?? name;
    form.setError(target as keyof StartValues, error);
  }) as Parameters<typeof applyServerErrors>[1];

  const onSubmit = form.handleSubmit(async (values) => {
    const body: RunStart = {};
    if (values.ref.trim()) body.ref = values.ref.trim();
    if (reviewer) {
      const pull = pulls.data?.items.find((p) => p.id === values.pull);
      body.pull_request = pull
        ? {
            id: pull.id,
            number: pull.number,
            base_ref: pull.base_ref,
            head_ref: pull.head_ref,
            head_sha: pull.head_sha ?? undefined,
          }
        : { base_ref: values.base_ref.trim(), head_ref: values.head_ref.trim() };
      body.level = values.level as RunStart["level"];
    }
    if (resolver) body.issue = { title: values.title, description: values.description };
    try {
      onStarted(await start.mutateAsync(body));
    } catch (caught) {
      applyServerErrors(caught, setError, FIELDS);
    }
  });
  const pullChosen = !!form.watch("pull");

  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="sm">
        {reviewer && (
          <>
            <NativeSelect
              label="Pull request"
              description="One of the project's open tracked pull requests, or branches below"
              data={[
                { value: "", label: "Branches below" },
                ...(pulls.data?.items ?? []).map((p) => ({
                  value: p.id,
                  label: `#${p.number} ${p.title}`,
                })),
              ]}
              {...form.register("pull")}
            />
            {!pullChosen && (
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                <TextInput
                  label="Base branch"
                  {...form.register("base_ref")}
                  error={errors.base_ref?.message}
                />
                <TextInput
                  label="Head branch"
                  required
                  {...form.register("head_ref")}
                  error={errors.head_ref?.message}
                />
              </SimpleGrid>
            )}
            <NativeSelect
              label="Review level"
              data={LEVELS.map((l) => ({ value: l, label: l }))}
              {...form.register("level")}
              error={errors.level?.message}
            />
          </>
        )}
        {resolver && (
          <>
            <TextInput
              label="Issue title"
              required
              {...form.register("title")}
              error={errors.title?.message}
            />
            <Textarea
              label="Issue description"
              autosize
              minRows={3}
              {...form.register("description")}
              error={errors.description?.message}
            />
          </>
        )}
        {!reviewer && (
          <TextInput
            label="Branch, tag or commit"
            description={`Empty: the project's default branch (${defaultBranch})`}
            data-autofocus
            {...form.register("ref")}
            error={errors.ref?.message}
          />
        )}
        <Text size="sm" c="dimmed">
          The run waits in the queue when the project already runs as many as it may at once.
        </Text>
        <FormError error={start.error} fields={FIELDS} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={start.isPending}>
            Start run
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
