import {
  Button,
  Checkbox,
  Fieldset,
  Group,
  Modal,
  NativeSelect,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
} from "@mantine/core";
import { useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { useCreateAgent, useUpdateAgent } from "@/api/agents";
import type { AgentOut } from "@/client/types.gen";
import { FormError } from "@/components/FormError";
import {
  AGENT_TYPE_OPTIONS,
  AGENT_TYPES,
  type AgentType,
  type ConfigField,
  type ConfigValues,
  configToForm,
  formToConfig,
  STEPS,
} from "@/features/agents/agentTypes";
import { applyServerErrors } from "@/lib/forms";

interface AgentValues {
  name: string;
  description: string;
  status: string;
  config: ConfigValues;
}

/** Create an agent of a chosen type, or edit one (its type is fixed once created). */
export function AgentFormModal({
  projectId,
  agent,
  opened,
  onClose,
  onSaved,
}: {
  projectId: string;
  /** The agent to edit; none: a new one. */
  agent?: AgentOut;
  opened: boolean;
  onClose: () => void;
  onSaved: (agent: AgentOut) => void;
}) {
  // Mounted only while open, so each opening starts from the agent's (or the defaults') values.
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={agent ? `Edit ${agent.name}` : "New agent"}
      size="lg"
    >
      {opened && (
        <AgentForm projectId={projectId} agent={agent} onClose={onClose} onSaved={onSaved} />
      )}
    </Modal>
  );
}

function AgentForm({
  projectId,
  agent,
  onClose,
  onSaved,
}: {
  projectId: string;
  agent?: AgentOut;
  onClose: () => void;
  onSaved: (agent: AgentOut) => void;
}) {
  const [type, setType] = useState<AgentType>((agent?.type as AgentType) ?? "code_analyzer");
  const create = useCreateAgent();
  const update = useUpdateAgent(agent?.id ?? "");
  const mutation = agent ? update : create;
  const form = useForm<AgentValues>({
    defaultValues: {
      name: agent?.name ?? "",
      description: agent?.description ?? "",
      status: agent?.status ?? "active",
      config: configToForm(type, agent?.config ?? {}),
    },
  });
  const spec = AGENT_TYPES[type];
  // Each config field before "config" itself: the first name that matches an error takes it.
  const fieldNames = [
    "name",
    "description",
    "status",
    ...spec.fields.map((f) => `config.${f.name}`),
    "config",
  ] as const;

  const changeType = (next: AgentType) => {
    setType(next);
    form.setValue("config", configToForm(next, {}));
    form.clearErrors();
  };

  const onSubmit = form.handleSubmit(async (values) => {
    if (!values.name.trim()) {
      form.setError("name", { message: "Give the agent a name" });
      return;
    }
    const config = formToConfig(type, values.config);
    try {
      const saved = agent
        ? await update.mutateAsync({
            name: values.name,
            description: values.description,
            status: values.status as "active" | "disabled",
            config,
          })
        : await create.mutateAsync({
            project_id: projectId,
            name: values.name,
            type,
            description: values.description,
            config,
          });
      onSaved(saved);
    } catch (caught) {
      // biome-ignore lint/suspicious/noExplicitAny: the config's fields are only known at run time
      applyServerErrors(caught, form.setError, fieldNames as any);
    }
  });
  const errors = form.formState.errors;
  const configError = (name: string) =>
    (errors.config as Record<string, { message?: string }> | undefined)?.[name]?.message;

  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput
            label="Name"
            required
            data-autofocus
            {...form.register("name")}
            error={errors.name?.message}
          />
          <NativeSelect
            label="Type"
            value={type}
            disabled={!!agent}
            description={agent ? "An agent keeps its type" : undefined}
            data={AGENT_TYPE_OPTIONS}
            onChange={(e) => changeType(e.currentTarget.value as AgentType)}
          />
        </SimpleGrid>
        <Text size="sm" c="dimmed">
          {spec.description}
        </Text>
        <Textarea
          label="Description"
          autosize
          minRows={2}
          {...form.register("description")}
          error={errors.description?.message}
        />
        {agent && (
          <NativeSelect
            label="Status"
            description="A disabled agent starts no runs"
            data={[
              { value: "active", label: "Active" },
              { value: "disabled", label: "Disabled" },
            ]}
            {...form.register("status")}
            error={errors.status?.message}
          />
        )}
        <Fieldset legend="Configuration">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            {spec.fields.map((field) => (
              <ConfigInput
                key={`${type}-${field.name}`}
                field={field}
                form={form}
                error={configError(field.name)}
              />
            ))}
          </SimpleGrid>
        </Fieldset>
        <FormError error={mutation.error} fields={fieldNames} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={mutation.isPending}>
            {agent ? "Save agent" : "Create agent"}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function defaultText(field: ConfigField): string {
  if (field.default === null) return "none";
  if (Array.isArray(field.default)) return field.default.length ? field.default.join(", ") : "none";
  return String(field.default);
}

function ConfigInput({
  field,
  form,
  error,
}: {
  field: ConfigField;
  form: ReturnType<typeof useForm<AgentValues>>;
  error: string | undefined;
}) {
  const name = `config.${field.name}` as const;
  const description = [field.help, `Default: ${defaultText(field)}`].filter(Boolean).join(". ");
  if (field.kind === "select") {
    return (
      <NativeSelect
        label={field.label}
        description={description}
        data={field.options.map((o) => ({ value: o, label: o }))}
        {...form.register(name)}
        error={error}
      />
    );
  }
  if (field.kind === "lines") {
    return (
      <Textarea
        label={field.label}
        description={description}
        autosize
        minRows={2}
        {...form.register(name)}
        error={error}
      />
    );
  }
  if (field.kind === "steps") {
    return (
      <Controller
        control={form.control}
        name={name}
        render={({ field: input }) => (
          <Checkbox.Group
            label={field.label}
            description={description}
            value={Array.isArray(input.value) ? input.value : []}
            onChange={input.onChange}
            error={error}
          >
            <Group mt="xs">
              {STEPS.map((step) => (
                <Checkbox key={step} value={step} label={step} />
              ))}
            </Group>
          </Checkbox.Group>
        )}
      />
    );
  }
  return (
    <TextInput
      label={field.label}
      description={description}
      inputMode={field.kind === "number" ? "decimal" : undefined}
      {...form.register(name)}
      error={error}
    />
  );
}
