import { zodResolver } from "@hookform/resolvers/zod";
import {
  Alert,
  Badge,
  Button,
  Code,
  Group,
  PasswordInput,
  Skeleton,
  Stack,
  Text,
  Textarea,
  TextInput,
} from "@mantine/core";
import { useNavigate, useParams } from "@tanstack/react-router";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useMe } from "@/api/auth";
import { useClearGithubToken, useGithubTokenStatus, useSetGithubToken } from "@/api/github-token";
import {
  useDeleteProject,
  useProject,
  useRotateWebhookSecret,
  useUpdateProject,
} from "@/api/projects";
import type { ProjectRead, WebhookSecret } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { SecretOnce } from "@/components/SecretOnce";
import { Section } from "@/components/Section";
import { formatDate } from "@/lib/format";
import { applyServerErrors } from "@/lib/forms";
import { projectPermissions } from "@/lib/permissions";

const generalSchema = z.object({
  name: z.string().trim().min(1, "Give the project a name").max(100, "At most 100 characters"),
  description: z.string().max(5000, "At most 5000 characters"),
});
type GeneralValues = z.infer<typeof generalSchema>;

function GeneralSection({ project, canEdit }: { project: ProjectRead; canEdit: boolean }) {
  const update = useUpdateProject(project.id);
  const form = useForm<GeneralValues>({
    resolver: zodResolver(generalSchema),
    values: { name: project.name, description: project.description },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await update.mutateAsync(values);
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["name", "description"]);
    }
  });
  return (
    <Section id="settings-general" title="Name and description">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <TextInput
            label="Name"
            readOnly={!canEdit}
            {...form.register("name")}
            error={form.formState.errors.name?.message}
          />
          <Textarea
            label="Description"
            autosize
            minRows={2}
            readOnly={!canEdit}
            {...form.register("description")}
            error={form.formState.errors.description?.message}
          />
          <FormError error={update.error} fields={["name", "description"]} />
          {update.isSuccess && !form.formState.isDirty && (
            <Text size="sm" role="status">
              Saved.
            </Text>
          )}
          {canEdit && (
            <Group>
              <Button type="submit" loading={update.isPending} disabled={!form.formState.isDirty}>
                Save
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Section>
  );
}

function WebhookSection({ project, canEdit }: { project: ProjectRead; canEdit: boolean }) {
  const rotate = useRotateWebhookSecret(project.id);
  const [secret, setSecret] = useState<WebhookSecret | null>(null);
  return (
    <Section id="settings-webhook" title="GitHub webhook">
      <Stack gap="sm">
        <Text size="sm">
          Payload URL path: <Code>{project.webhook_path}</Code>
        </Text>
        <Text size="sm">
          Secret last rotated: {formatDate(project.webhook_secret_rotated_at, "never")}
        </Text>
        {secret && (
          <SecretOnce
            title="New webhook secret"
            secret={secret.webhook_secret}
            onDone={() => setSecret(null)}
          />
        )}
        {rotate.error ? <ErrorView error={rotate.error} /> : null}
        {canEdit && !secret && (
          <ConfirmButton
            label="Rotate secret"
            title="Rotate the webhook secret?"
            message="GitHub's deliveries will fail until you store the new secret in the repository's webhook settings."
            confirmLabel="Rotate"
            pending={rotate.isPending}
            error={rotate.error}
            onConfirm={async () => setSecret(await rotate.mutateAsync())}
            w="fit-content"
          />
        )}
      </Stack>
    </Section>
  );
}

const tokenSchema = z.object({
  token: z
    .string()
    .trim()
    .min(1, "Paste the token")
    .max(255, "At most 255 characters")
    .regex(/^[A-Za-z0-9_\-.]+$/, "A GitHub token has only letters, digits, '_', '-' and '.'"),
});

function GithubTokenSection({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const status = useGithubTokenStatus(projectId);
  const set = useSetGithubToken(projectId);
  const clear = useClearGithubToken(projectId);
  const form = useForm<z.infer<typeof tokenSchema>>({
    resolver: zodResolver(tokenSchema),
    defaultValues: { token: "" },
  });
  const onSubmit = form.handleSubmit(async ({ token }) => {
    try {
      await set.mutateAsync(token);
      form.reset();
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["token"]);
    }
  });
  return (
    <Section id="settings-github" title="GitHub token">
      <Stack gap="sm">
        <Text size="sm">
          Used to sync this project's issues and pull requests from GitHub. It is never shown again
          once set.
        </Text>
        {status.isPending && <Skeleton h={24} />}
        {status.isError && <ErrorView error={status.error} onRetry={() => status.refetch()} />}
        {status.data && (
          <Group gap="xs">
            <Badge
              variant="outline"
              color={status.data.configured ? "#1e6a2e" : "gray.8"}
              data-testid="github-token-status"
            >
              {status.data.configured ? "Token set" : "No token"}
            </Badge>
            {status.data.configured && (
              <Text size="xs" c="dimmed">
                updated {formatDate(status.data.updated_at)}
              </Text>
            )}
          </Group>
        )}
        {canEdit && (
          <form onSubmit={onSubmit} noValidate>
            <Stack gap="sm">
              <PasswordInput
                label={status.data?.configured ? "Replace the token" : "Token"}
                autoComplete="off"
                maw={420}
                {...form.register("token")}
                error={form.formState.errors.token?.message}
                // Mantine's PasswordInput marks its inner input data-invalid only.
                aria-invalid={form.formState.errors.token ? true : undefined}
              />
              <FormError error={set.error} fields={["token"]} />
              {clear.error ? <ErrorView error={clear.error} /> : null}
              <Group>
                <Button type="submit" loading={set.isPending}>
                  Save token
                </Button>
                {status.data?.configured && (
                  <Button
                    variant="outline"
                    color="red.9"
                    loading={clear.isPending}
                    onClick={() => clear.mutate()}
                  >
                    Clear token
                  </Button>
                )}
              </Group>
            </Stack>
          </form>
        )}
      </Stack>
    </Section>
  );
}

function DeleteSection({ project }: { project: ProjectRead }) {
  const remove = useDeleteProject(project.id);
  const navigate = useNavigate();
  return (
    <Section id="settings-delete" title="Delete the project">
      <Stack gap="sm">
        <Text size="sm">
          Deleting removes the project, its members and its webhook. Issues, pull requests and runs
          of the project stop being reachable.
        </Text>
        <ConfirmButton
          label="Delete project"
          title={`Delete ${project.name}?`}
          message="This cannot be undone."
          confirmLabel="Delete"
          typeToConfirm={project.name}
          pending={remove.isPending}
          error={remove.error}
          onConfirm={async () => {
            await remove.mutateAsync();
            await navigate({ to: "/projects" });
          }}
          w="fit-content"
        />
      </Stack>
    </Section>
  );
}

export function SettingsTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/settings" });
  const project = useProject(projectId);
  const me = useMe();
  if (!project.data) return <Skeleton h={200} />;
  const { canEdit, canManage } = projectPermissions(project.data, me.data);
  return (
    <Stack gap="md">
      {!canEdit && (
        <Alert color="gray" variant="light">
          You can read these settings; only the project's owner and maintainers can change them.
        </Alert>
      )}
      <GeneralSection project={project.data} canEdit={canEdit} />
      <WebhookSection project={project.data} canEdit={canEdit} />
      <GithubTokenSection projectId={projectId} canEdit={canEdit} />
      {canManage && <DeleteSection project={project.data} />}
    </Stack>
  );
}
