/**
 * The project's issues: counts and mean time to resolve, filters and sort kept in the URL, and
 * the list a page of 50 at a time from the server (the next page is fetched before it is asked
 * for), so a project with thousands of issues renders as fast as one with ten.
 */
import {
  Alert,
  Button,
  Card,
  Group,
  NativeSelect,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { memo, useEffect, useState } from "react";
import { useMe } from "@/api/auth";
import { prefetchIssues, useIssueStats, useIssues, useProjectAgents } from "@/api/issues";
import { useProject } from "@/api/projects";
import type { AgentOut, IssueOut } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { Pager } from "@/components/Pager";
import { LabelBadges, PriorityBadge, StatusBadge } from "@/features/issues/badges";
import { CreateIssueModal } from "@/features/issues/CreateIssueModal";
import { formatDuration } from "@/features/issues/format";
import {
  DEFAULT_SORT,
  hasFilters,
  type IssueSearch,
  listQuery,
  PAGE_SIZE,
  PRIORITIES,
  SORTS,
  STATUS_LABEL,
  STATUSES,
  withFilter,
} from "@/features/issues/search";
import { formatDate } from "@/lib/format";
import { projectPermissions } from "@/lib/permissions";

const FROM = "/app/projects/$projectId/issues" as const;

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed" component="dt">
        {label}
      </Text>
      <Text fw={700} size="lg" component="dd" m={0}>
        {value}
      </Text>
    </Card>
  );
}

function StatsStrip({ projectId }: { projectId: string }) {
  const stats = useIssueStats(projectId);
  if (stats.isPending) return <Skeleton h={64} />;
  if (stats.isError) return <ErrorView error={stats.error} onRetry={() => stats.refetch()} />;
  const count = (status: keyof typeof STATUS_LABEL) => String(stats.data.by_status[status] ?? 0);
  const mttr = stats.data.mean_time_to_resolve_seconds;
  return (
    <section aria-label="Issue counts">
      <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="sm" component="dl" m={0}>
        <Figure label="Open" value={count("open")} />
        <Figure label="In progress" value={count("in_progress")} />
        <Figure label="In review" value={count("in_review")} />
        <Figure label="Resolved" value={count("resolved")} />
        <Figure label="Mean time to resolve" value={mttr === null ? "—" : formatDuration(mttr)} />
      </SimpleGrid>
    </section>
  );
}

/** A text filter typed into a box: the URL follows 300 ms after the last key. */
function useUrlText(value: string | undefined, commit: (text: string) => void) {
  const [draft, setDraft] = useState(value ?? "");
  // The URL changed on its own (back button, "Clear filters"): show what it says, but keep
  // what is being typed when the URL only caught up with it (trailing space included).
  useEffect(() => {
    setDraft((typed) => (typed.trim() === (value ?? "") ? typed : (value ?? "")));
  }, [value]);
  const later = useDebouncedCallback((text: string) => commit(text.trim()), 300);
  const type = (text: string) => {
    setDraft(text);
    later(text);
  };
  return [draft, type] as const;
}

function Filters({
  search,
  agents,
  onChange,
}: {
  search: IssueSearch;
  agents: AgentOut[];
  onChange: (next: IssueSearch) => void;
}) {
  const set = <K extends keyof IssueSearch>(name: K, value: IssueSearch[K] | "") =>
    onChange(withFilter(search, name, value));
  const [q, setQ] = useUrlText(search.q, (text) => set("q", text));
  const [label, setLabel] = useUrlText(search.label, (text) => set("label", text));
  return (
    <Group align="flex-end" gap="sm" wrap="wrap" role="search" aria-label="Filter issues">
      <TextInput
        label="Search"
        placeholder="Title or description"
        value={q}
        onChange={(e) => setQ(e.currentTarget.value)}
        w={240}
      />
      <NativeSelect
        label="Status"
        value={search.status ?? ""}
        onChange={(e) => set("status", e.currentTarget.value as IssueSearch["status"] | "")}
        data={[
          { value: "", label: "Any status" },
          ...STATUSES.map((s) => ({ value: s, label: STATUS_LABEL[s] })),
        ]}
        w={150}
      />
      <NativeSelect
        label="Priority"
        value={search.priority ?? ""}
        onChange={(e) => set("priority", e.currentTarget.value as IssueSearch["priority"] | "")}
        data={[{ value: "", label: "Any priority" }, ...PRIORITIES]}
        w={150}
      />
      <TextInput
        label="Label"
        placeholder="e.g. bug"
        value={label}
        onChange={(e) => setLabel(e.currentTarget.value)}
        w={140}
      />
      <NativeSelect
        label="Assigned agent"
        value={search.assignee ?? ""}
        onChange={(e) => set("assignee", e.currentTarget.value)}
        data={[
          { value: "", label: "Any or none" },
          ...agents.map((a) => ({ value: a.id, label: a.name })),
          // An agent id from a shared link that is not (or no longer) in the list.
          ...(search.assignee && !agents.some((a) => a.id === search.assignee)
            ? [{ value: search.assignee, label: "another agent" }]
            : []),
        ]}
        w={180}
      />
      {hasFilters(search) && (
        <Button
          variant="default"
          onClick={() => onChange(search.sort ? { sort: search.sort } : {})}
        >
          Clear filters
        </Button>
      )}
    </Group>
  );
}

/**
 * One row of the list. Memoised, and plain elements where Mantine adds nothing: a page turn
 * renders 50 of them in one go, and that render is what the user waits for.
 */
const IssueRow = memo(function IssueRow({ issue, agent }: { issue: IssueOut; agent?: string }) {
  return (
    <Table.Tr>
      <Table.Td>
        <div className="swe-issue-title">
          <AnchorLink
            to="/projects/$projectId/issues/$issueId"
            params={{ projectId: issue.project_id, issueId: issue.id }}
            fw={600}
          >
            {issue.title}
          </AnchorLink>
          {issue.github_number !== null && (
            <span className="swe-dimmed-xs">GitHub #{issue.github_number}</span>
          )}
          <LabelBadges labels={issue.labels} />
        </div>
      </Table.Td>
      <Table.Td>
        <StatusBadge status={issue.status} />
      </Table.Td>
      <Table.Td>
        <PriorityBadge priority={issue.priority} />
      </Table.Td>
      <Table.Td>{issue.assigned_agent_id ? (agent ?? "another agent") : "—"}</Table.Td>
      <Table.Td>{formatDate(issue.updated_at)}</Table.Td>
    </Table.Tr>
  );
});

const NO_AGENTS: AgentOut[] = [];

/** The rows of one page; re-rendered only when the page or the agents change. */
const IssueRows = memo(function IssueRows({
  items,
  agents,
}: {
  items: IssueOut[];
  agents: AgentOut[];
}) {
  const agentName = new Map(agents.map((a) => [a.id, a.name]));
  return items.map((issue) => (
    <IssueRow
      key={issue.id}
      issue={issue}
      agent={issue.assigned_agent_id ? agentName.get(issue.assigned_agent_id) : undefined}
    />
  ));
});

export function IssuesTab() {
  const { projectId } = useParams({ from: FROM });
  const search = useSearch({ from: FROM });
  const navigate = useNavigate({ from: "/projects/$projectId/issues" });
  const queryClient = useQueryClient();
  const project = useProject(projectId);
  const me = useMe();
  const agents = useProjectAgents(projectId);
  const query = listQuery(projectId, search);
  const issues = useIssues(query);
  const [creating, setCreating] = useState(false);
  const page = search.page ?? 1;
  const total = issues.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  // The next page is loaded while this one is read: turning the page shows it at once.
  useEffect(() => {
    if (issues.data && !issues.isPlaceholderData && page < pages) {
      prefetchIssues(queryClient, listQuery(projectId, { ...search, page: page + 1 }));
    }
  }, [issues.data, issues.isPlaceholderData, page, pages, projectId, search, queryClient]);

  if (!project.data) return <Skeleton h={200} />;
  const { canWriteIssues } = projectPermissions(project.data, me.data);
  const agentList = agents.data?.items ?? NO_AGENTS;
  const go = (next: IssueSearch, replace = false) => void navigate({ search: next, replace });

  return (
    <Stack gap="md">
      <StatsStrip projectId={projectId} />
      <Filters search={search} agents={agentList} onChange={(next) => go(next, true)} />
      <Group justify="space-between" align="flex-end">
        <NativeSelect
          label="Sort"
          value={search.sort ?? DEFAULT_SORT}
          onChange={(e) =>
            go(withFilter(search, "sort", e.currentTarget.value as IssueSearch["sort"]), true)
          }
          data={Object.entries(SORTS).map(([value, text]) => ({ value, label: text }))}
          w={210}
        />
        {canWriteIssues && <Button onClick={() => setCreating(true)}>New issue</Button>}
      </Group>
      {!canWriteIssues && (
        <Alert color="gray" variant="light">
          You can read this project's issues; only its owner and maintainers can change them.
        </Alert>
      )}
      {canWriteIssues && (
        <CreateIssueModal
          projectId={projectId}
          opened={creating}
          onClose={() => setCreating(false)}
          onCreated={(issue) => {
            setCreating(false);
            void navigate({
              to: "/projects/$projectId/issues/$issueId",
              params: { projectId, issueId: issue.id },
            });
          }}
        />
      )}
      {issues.isPending && <Skeleton h={240} />}
      {issues.isError && <ErrorView error={issues.error} onRetry={() => issues.refetch()} />}
      {issues.data && issues.data.items.length === 0 && total > 0 && (
        <Group>
          <Text>This page is past the end of the list.</Text>
          <Button variant="default" onClick={() => go(withFilter(search, "page", undefined))}>
            First page
          </Button>
        </Group>
      )}
      {issues.data && total === 0 && (
        <Text>
          {hasFilters(search)
            ? "No issue matches these filters."
            : canWriteIssues
              ? "No issues yet: create the first one."
              : "No issues yet."}
        </Text>
      )}
      {issues.data && issues.data.items.length > 0 && (
        <Table
          striped
          highlightOnHover
          verticalSpacing="xs"
          fz="sm"
          captionSide="top"
          aria-busy={issues.isPlaceholderData || undefined}
          data-testid="issues-table"
        >
          <Table.Caption>
            {total} issue{total === 1 ? "" : "s"}
            {pages > 1 && ` · page ${page} of ${pages}`}
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Title</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
              <Table.Th scope="col">Priority</Table.Th>
              <Table.Th scope="col">Agent</Table.Th>
              <Table.Th scope="col">Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            <IssueRows items={issues.data.items} agents={agentList} />
          </Table.Tbody>
        </Table>
      )}
      <Pager
        total={total}
        pageSize={PAGE_SIZE}
        page={Math.min(page, pages)}
        onChange={(next) => go(withFilter(search, "page", next > 1 ? next : undefined))}
      />
    </Stack>
  );
}
