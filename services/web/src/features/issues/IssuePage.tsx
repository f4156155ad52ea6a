/**
 * One issue: its title, its description as sanitised Markdown, what is known about it, and, for
 * the project's owner and maintainers, what may be done next: only the status moves the state
 * machine allows from here, editing, assigning an agent, resolving (maybe with the pull request
 * that fixed it), refreshing from GitHub and deleting. Viewers see the same page without any of
 * those controls (the server refuses them anyway).
 */
import { zodResolver } from "@hookform/resolvers/zod";
import {
  Anchor,
  Button,
  Code,
  Grid,
  Group,
  Modal,
  NativeSelect,
  Skeleton,
  Stack,
  Text,
  Textarea,
} from "@mantine/core";
import { useNavigate, useParams } from "@tanstack/react-router";
import { type ReactNode, useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { useMe } from "@/api/auth";
import {
  useAssignIssue,
  useDeleteIssue,
  useIssue,
  useProjectAgents,
  useProjectPullRequests,
  useResolveIssue,
  useSyncIssue,
  useUpdateIssue,
} from "@/api/issues";
import { useProject } from "@/api/projects";
import { usePull } from "@/api/pulls";
import type { AgentOut, IssueOut, IssueStatus } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { AnchorLink } from "@/components/links";
import { Markdown } from "@/components/Markdown";
import { NotFoundView } from "@/components/NotFoundView";
import { PageHeader } from "@/components/PageHeader";
import { Section } from "@/components/Section";
import { CommentsSection } from "@/features/comments/CommentsSection";
import { commentRights } from "@/features/comments/rights";
import { LabelBadges, PriorityBadge, StatusBadge } from "@/features/issues/badges";
import { parseLabels } from "@/features/issues/format";
import {
  ISSUE_FIELDS,
  IssueFields,
  type IssueValues,
  issueSchema,
} from "@/features/issues/IssueFields";
import { canAssign, transitionActions } from "@/features/issues/transitions";
import { ApiError } from "@/lib/errors";
import { formatDate } from "@/lib/format";
import { applyServerErrors } from "@/lib/forms";
import { projectPermissions } from "@/lib/permissions";

const FROM = "/app/projects/$projectId/issues/$issueId" as const;

/** Only https links to GitHub become links; anything else in the field is shown as text. */
function safeGithubUrl(url: string | null): string | null {
  return url && /^https:\/\/github\.com\//.test(url) ? url : null;
}

function Meta({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <Text component="dt" size="xs" c="dimmed">
        {term}
      </Text>
      <Text component="dd" size="sm" m={0} mb="xs">
        {children}
      </Text>
    </>
  );
}

function Details({
  issue,
  agents,
  myId,
}: {
  issue: IssueOut;
  agents: AgentOut[];
  myId: string | undefined;
}) {
  const agent = agents.find((a) => a.id === issue.assigned_agent_id);
  const github = safeGithubUrl(issue.github_url);
  return (
    <Section id="issue-details" title="Details">
      <dl style={{ margin: 0 }}>
        <Meta term="Assigned agent">
          {issue.assigned_agent_id
            ? (agent?.name ?? <Code>{issue.assigned_agent_id}</Code>)
            : "none"}
        </Meta>
        <Meta term="Created">
          {formatDate(issue.created_at)}
          {issue.created_by === null
            ? issue.github_number !== null && " from GitHub"
            : issue.created_by === myId
              ? " by you"
              : " by a member"}
        </Meta>
        <Meta term="Updated">{formatDate(issue.updated_at)}</Meta>
        {issue.resolved_at && <Meta term="Resolved">{formatDate(issue.resolved_at)}</Meta>}
        {issue.closed_at && <Meta term="Closed">{formatDate(issue.closed_at)}</Meta>}
        {issue.github_number !== null && (
          <Meta term="GitHub">
            {github ? (
              <Anchor href={github} target="_blank" rel="noopener noreferrer nofollow">
                #{issue.github_number}
              </Anchor>
            ) : (
              `#${issue.github_number}`
            )}
            {issue.github_removed && ` (${issue.github_removed} on GitHub)`}
            {issue.github_state_reason && ` · ${issue.github_state_reason.replace(/_/g, " ")}`}
          </Meta>
        )}
        {issue.github_author && <Meta term="GitHub author">{issue.github_author}</Meta>}
        {issue.github_assignees.length > 0 && (
          <Meta term="GitHub assignees">{issue.github_assignees.join(", ")}</Meta>
        )}
      </dl>
    </Section>
  );
}

function LinkedPullRequest({ projectId, prId }: { projectId: string; prId: string }) {
  const pull = usePull(prId);
  return (
    <Text size="sm" mt="xs">
      Pull request:{" "}
      {pull.data ? (
        <AnchorLink
          to="/projects/$projectId/pulls/$pullId"
          params={{ projectId, pullId: prId }}
          size="sm"
        >
          #{pull.data.number} {pull.data.title}
        </AnchorLink>
      ) : (
        <Code>{prId}</Code>
      )}
    </Text>
  );
}

const STATUS_ORDER: IssueStatus[] = ["in_progress", "resolved", "in_review", "open", "closed"];

function TransitionButtons({ issue, onResolve }: { issue: IssueOut; onResolve: () => void }) {
  const update = useUpdateIssue(issue.id);
  const actions = transitionActions(issue.status).sort(
    (a, b) => STATUS_ORDER.indexOf(a.target) - STATUS_ORDER.indexOf(b.target),
  );
  return (
    <Stack gap="xs">
      <Group gap="xs" aria-label="Change the status" role="group">
        {actions.map((action) => (
          <Button
            key={action.target}
            variant={action.target === "closed" ? "default" : "filled"}
            loading={update.isPending && update.variables?.status === action.target}
            disabled={update.isPending}
            onClick={() =>
              action.kind === "resolve" ? onResolve() : update.mutate({ status: action.target })
            }
          >
            {action.label}
          </Button>
        ))}
      </Group>
      {update.error ? <ErrorView error={update.error} /> : null}
    </Stack>
  );
}

function EditForm({ issue, onDone }: { issue: IssueOut; onDone: () => void }) {
  const update = useUpdateIssue(issue.id);
  const form = useForm<IssueValues>({
    resolver: zodResolver(issueSchema),
    defaultValues: {
      title: issue.title,
      description: issue.description,
      priority: issue.priority,
      labels: issue.labels.join(", "),
      github_number: "",
    },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await update.mutateAsync({
        title: values.title,
        description: values.description,
        priority: values.priority,
        labels: parseLabels(values.labels),
      });
      onDone();
    } catch (caught) {
      applyServerErrors(caught, form.setError, ISSUE_FIELDS);
    }
  });
  return (
    <Section id="edit-issue" title="Edit the issue">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <IssueFields form={form} autoFocus />
          <FormError error={update.error} fields={ISSUE_FIELDS} />
          <Group>
            <Button type="submit" loading={update.isPending}>
              Save
            </Button>
            <Button variant="default" onClick={onDone}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

function AssignCard({ issue, agents }: { issue: IssueOut; agents: AgentOut[] }) {
  const assign = useAssignIssue(issue.id);
  const active = agents.filter((a) => a.status === "active");
  const [agentId, setAgentId] = useState("");
  const chosen = agentId || issue.assigned_agent_id || "";
  return (
    <Section id="assign-issue" title="Assign an agent">
      {active.length === 0 ? (
        <Text size="sm">This project has no active agent to assign.</Text>
      ) : (
        <Stack gap="xs">
          <NativeSelect
            label="Agent"
            value={chosen}
            onChange={(e) => setAgentId(e.currentTarget.value)}
            data={[
              { value: "", label: "Choose an agent", disabled: true },
              ...active.map((a) => ({ value: a.id, label: `${a.name} (${a.type})` })),
            ]}
          />
          <Text size="xs" c="dimmed">
            The agent gets a run for this issue; an open issue moves to in progress.
          </Text>
          <Group>
            <Button
              variant="default"
              disabled={!chosen || chosen === issue.assigned_agent_id}
              loading={assign.isPending}
              onClick={() => assign.mutate(chosen)}
            >
              Assign
            </Button>
          </Group>
          {assign.error ? <ErrorView error={assign.error} /> : null}
        </Stack>
      )}
    </Section>
  );
}

const resolveSchema = z.object({
  resolution: z
    .string()
    .trim()
    .min(1, "Say how the issue was resolved")
    .max(50_000, "At most 50,000 characters"),
  pull_request_id: z.string(),
});
type ResolveValues = z.infer<typeof resolveSchema>;
const RESOLVE_FIELDS = ["resolution", "pull_request_id"] as const;

function ResolveModal({
  issue,
  opened,
  onClose,
}: {
  issue: IssueOut;
  opened: boolean;
  onClose: () => void;
}) {
  const resolve = useResolveIssue(issue.id);
  const pulls = useProjectPullRequests(issue.project_id, opened);
  const form = useForm<ResolveValues>({
    resolver: zodResolver(resolveSchema),
    defaultValues: { resolution: "", pull_request_id: "" },
  });
  const close = () => {
    form.reset();
    resolve.reset();
    onClose();
  };
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await resolve.mutateAsync({
        resolution: values.resolution,
        pull_request_id: values.pull_request_id || null,
      });
      close();
    } catch (caught) {
      applyServerErrors(caught, form.setError, RESOLVE_FIELDS);
    }
  });
  const options = [
    { value: "", label: pulls.isPending ? "Loading pull requests…" : "No pull request" },
    ...(pulls.data?.items ?? []).map((pr) => ({
      value: pr.id,
      label: `#${pr.number} ${pr.title} (${pr.state})`,
    })),
  ];
  return (
    <Modal opened={opened} onClose={close} title="Resolve the issue" size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <Textarea
            label="Resolution"
            description="What fixed it (Markdown)."
            required
            autosize
            minRows={3}
            data-autofocus
            {...form.register("resolution")}
            error={form.formState.errors.resolution?.message}
          />
          <NativeSelect
            label="Pull request (optional)"
            data={options}
            {...form.register("pull_request_id")}
            error={form.formState.errors.pull_request_id?.message}
          />
          {pulls.isError && <ErrorView error={pulls.error} />}
          <FormError error={resolve.error} fields={RESOLVE_FIELDS} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={resolve.isPending}>
              Resolve
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** ``full``: sync and delete too (issues.write); else the assignee's changes only. */
function WriteActions({
  issue,
  full,
  onEdit,
  onResolve,
}: {
  issue: IssueOut;
  full: boolean;
  onEdit: () => void;
  onResolve: () => void;
}) {
  const sync = useSyncIssue(issue.id);
  const remove = useDeleteIssue(issue.id);
  const navigate = useNavigate();
  return (
    <Stack gap="xs">
      <Group justify="space-between" wrap="wrap" gap="xs">
        <TransitionButtons issue={issue} onResolve={onResolve} />
        <Group gap="xs">
          <Button variant="default" onClick={onEdit}>
            Edit
          </Button>
          {full && issue.github_number !== null && (
            <Button variant="default" loading={sync.isPending} onClick={() => sync.mutate()}>
              Sync from GitHub
            </Button>
          )}
          {full && (
            <ConfirmButton
              label="Delete"
              title="Delete the issue?"
              message={`“${issue.title}” will be removed for everyone in the project. This cannot be undone.`}
              confirmLabel="Delete issue"
              pending={remove.isPending}
              error={remove.error}
              onConfirm={async () => {
                await remove.mutateAsync();
                await navigate({
                  to: "/projects/$projectId/issues",
                  params: { projectId: issue.project_id },
                });
              }}
            />
          )}
        </Group>
      </Group>
      {sync.error ? <ErrorView error={sync.error} /> : null}
      {sync.isSuccess && (
        <Text size="sm" role="status">
          Refreshed from GitHub.
        </Text>
      )}
    </Stack>
  );
}

export function IssuePage() {
  const { projectId, issueId } = useParams({ from: FROM });
  const issue = useIssue(issueId);
  const project = useProject(projectId);
  const me = useMe();
  const agents = useProjectAgents(projectId);
  const [editing, setEditing] = useState(false);
  const [resolving, setResolving] = useState(false);

  if (issue.isPending || !project.data) return <Skeleton h={240} />;
  if (issue.isError) {
    const status = issue.error instanceof ApiError ? issue.error.status : 0;
    if (status === 404 || status === 422) return <NotFoundView what="issue" error={issue.error} />;
    return <ErrorView error={issue.error} onRetry={() => issue.refetch()} />;
  }
  // An issue of another project under this project's URL is not found here.
  if (issue.data.project_id !== projectId) return <NotFoundView what="issue" />;
  const data = issue.data;
  const permissions = projectPermissions(project.data, me.data);
  // Any issue (issues.write), or the one assigned to the caller (the agent role).
  const canChange = permissions.canUpdate(data);
  const agentList = agents.data?.items ?? [];

  return (
    <>
      <PageHeader
        title={data.title}
        crumbs={[
          { label: "Home", to: "/" },
          { label: "Projects", to: "/projects" },
          { label: project.data.name, to: `/projects/${projectId}/issues` },
          { label: "Issues", to: `/projects/${projectId}/issues` },
          { label: data.github_number !== null ? `#${data.github_number}` : "Issue" },
        ]}
        description={`In ${project.data.name}`}
      />
      <Stack gap="md">
        <Group gap="xs">
          <StatusBadge status={data.status} />
          <PriorityBadge priority={data.priority} />
          <LabelBadges labels={data.labels} />
        </Group>
        {canChange && (
          <WriteActions
            issue={data}
            full={permissions.canWriteIssues}
            onEdit={() => setEditing(true)}
            onResolve={() => setResolving(true)}
          />
        )}
        {canChange && (
          <ResolveModal issue={data} opened={resolving} onClose={() => setResolving(false)} />
        )}
        <Grid gutter="md">
          <Grid.Col span={{ base: 12, md: 8 }}>
            <Stack gap="md">
              {editing && canChange ? (
                <EditForm key={data.updated_at} issue={data} onDone={() => setEditing(false)} />
              ) : (
                <Section id="issue-description" title="Description">
                  {data.description ? (
                    <Markdown>{data.description}</Markdown>
                  ) : (
                    <Text size="sm" c="dimmed">
                      No description.
                    </Text>
                  )}
                </Section>
              )}
              {!data.resolution && data.pull_request_id && (
                // An agent's draft pull request awaits review (status in review).
                <Section id="issue-pull-request" title="Under review">
                  <LinkedPullRequest projectId={projectId} prId={data.pull_request_id} />
                </Section>
              )}
              {data.resolution && (
                <Section id="issue-resolution" title="Resolution">
                  <Markdown>{data.resolution}</Markdown>
                  {data.pull_request_id && (
                    <LinkedPullRequest projectId={projectId} prId={data.pull_request_id} />
                  )}
                </Section>
              )}
              <CommentsSection
                target={{ kind: "issue", id: data.id }}
                rights={commentRights(project.data, me.data, data)}
                myId={me.data?.id}
              />
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Stack gap="md">
              <Details issue={data} agents={agentList} myId={me.data?.id} />
              {canChange && canAssign(data.status) && (
                <AssignCard issue={data} agents={agentList} />
              )}
            </Stack>
          </Grid.Col>
        </Grid>
      </Stack>
    </>
  );
}
