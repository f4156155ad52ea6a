/**
 * /analytics (every project the caller sees; all of them for an admin), a project's page and
 * an agent's page. This module and the chart library load only with these routes.
 */
import {
  Button,
  Card,
  Group,
  NativeSelect,
  SegmentedControl,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
} from "@mantine/core";
import { useNavigate, useParams, useSearch } from "@tanstack/react-router";
import { useMemo } from "react";
import {
  type AgentScope,
  useAgentFigures,
  useAgentPerformance,
  useDashboard,
  usePerformance,
  useProjectFigures,
  useSeries,
} from "@/api/analytics";
import { useProject, useProjects } from "@/api/projects";
import type { Dashboard, Metric, RunFigures, TimeSeries } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink, ButtonLink } from "@/components/links";
import { PageHeader } from "@/components/PageHeader";
import { Section } from "@/components/Section";
import { agentRows, mergeSeries, type Row } from "@/features/analytics/buckets";
import { download, type ExportColumn, toCsv, toJson } from "@/features/analytics/export";
import { SeriesChart, type SeriesDef } from "@/features/analytics/SeriesChart";
import {
  type AnalyticsSearch,
  BUCKETS,
  type Bucket,
  browserTimeZone,
  RANGES,
  type SeriesQuery,
  seriesQuery,
  withChange,
} from "@/features/analytics/search";
import { formatDuration } from "@/features/issues/format";

const ISSUE_SERIES: SeriesDef[] = [
  { name: "issues_opened", label: "Opened", color: "blue.6" },
  { name: "issues_resolved", label: "Resolved", color: "teal.6" },
];
const RUN_SERIES: SeriesDef[] = [
  { name: "runs_completed", label: "Completed", color: "teal.6" },
  { name: "runs_failed", label: "Failed", color: "red.6" },
  { name: "runs_cancelled", label: "Cancelled", color: "gray.6" },
];
const FINDING_SERIES: SeriesDef[] = [
  { name: "findings_critical", label: "Critical", color: "red.9" },
  { name: "findings_high", label: "High", color: "orange.7" },
  { name: "findings_medium", label: "Medium", color: "yellow.6" },
  { name: "findings_low", label: "Low", color: "blue.6" },
  { name: "findings_info", label: "Info", color: "gray.6" },
];
const METRICS = [
  ...[...ISSUE_SERIES, ...RUN_SERIES].map((s) => s.name as Metric),
  "findings",
] as Metric[];

const AGENT_RUN_SERIES: SeriesDef[] = [
  { name: "completed", label: "Completed", color: "teal.6" },
  { name: "failed", label: "Failed", color: "red.6" },
  { name: "cancelled", label: "Cancelled", color: "gray.6" },
];
const SUCCESS_SERIES: SeriesDef[] = [
  { name: "success_rate", label: "Success rate (%)", color: "teal.7" },
];
const DURATION_SERIES: SeriesDef[] = [
  { name: "mean_duration_seconds", label: "Mean duration (s)", color: "blue.7" },
];
const SCORE_SERIES: SeriesDef[] = [
  { name: "mean_quality_score", label: "Mean quality score", color: "grape.7" },
];
/** One chart of a page: its section's heading (id and title) and what it draws. */
interface ChartDef {
  id: string;
  title: string;
  kind: "line" | "bar";
  series: SeriesDef[];
  /** For rates and means: see SeriesChart. */
  unit?: string;
}
const SERIES_CHARTS: ChartDef[] = [
  { id: "chart-issues", title: "Issues opened and resolved", kind: "line", series: ISSUE_SERIES },
  { id: "chart-runs", title: "Agent runs by status", kind: "bar", series: RUN_SERIES },
  { id: "chart-findings", title: "Findings by severity", kind: "bar", series: FINDING_SERIES },
];
const AGENT_CHARTS: ChartDef[] = [
  { id: "agent-runs", title: "Finished runs by status", kind: "bar", series: AGENT_RUN_SERIES },
  {
    id: "agent-success",
    title: "Success rate",
    kind: "line",
    series: SUCCESS_SERIES,
    unit: "percent",
  },
  {
    id: "agent-duration",
    title: "Mean run duration",
    kind: "line",
    series: DURATION_SERIES,
    unit: "seconds",
  },
  {
    id: "agent-score",
    title: "Mean quality score",
    kind: "line",
    series: SCORE_SERIES,
    unit: "score",
  },
];
const AGENT_EXPORT_COLUMNS: ExportColumn[] = [
  { key: "t", label: "bucket_start" },
  ...["runs", "completed", "failed", "cancelled", "success_rate"].map((k) => ({
    key: k,
    label: k === "success_rate" ? "success_rate_percent" : k,
  })),
  { key: "mean_duration_seconds", label: "mean_duration_seconds" },
  { key: "mean_quality_score", label: "mean_quality_score" },
];

function zones(current: string): string[] {
  const all = Intl.supportedValuesOf?.("timeZone") ?? ["UTC"];
  const list = all.includes("UTC") ? all : ["UTC", ...all];
  return list.includes(current) ? list : [current, ...list];
}

function Figure({ label, value }: { label: string; value: string | number }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed" component="dt">
        {label}
      </Text>
      <Text fw={700} size="lg" component="dd" m={0} data-figure={label}>
        {value}
      </Text>
    </Card>
  );
}

const seconds = (v: number | null | undefined) => (v == null ? "—" : formatDuration(v));
const percent = (v: number | null | undefined) => (v == null ? "—" : `${Math.round(v * 100)}%`);

function RunFiguresGrid({ runs }: { runs: RunFigures }) {
  return (
    <>
      <Figure label="Runs" value={runs.total} />
      <Figure label="Run success rate" value={percent(runs.success_rate)} />
      <Figure label="Mean run duration" value={seconds(runs.mean_duration_seconds)} />
    </>
  );
}

function Figures({ figures }: { figures: Dashboard }) {
  return (
    <section aria-label="Figures">
      <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm" component="dl" m={0}>
        <Figure label="Issues" value={figures.issues.total} />
        <Figure label="Open issues" value={figures.issues.open} />
        <Figure label="Resolved issues" value={figures.issues.resolved} />
        <Figure
          label="Mean time to resolve"
          value={seconds(figures.issues.mean_time_to_resolve_seconds)}
        />
        <RunFiguresGrid runs={figures.runs} />
        <Figure label="Pull requests reviewed" value={figures.pull_requests.reviewed} />
        <Figure label="Findings reported" value={figures.findings.total} />
        <Figure
          label="Mean quality score"
          value={figures.quality.mean == null ? "—" : figures.quality.mean.toFixed(1)}
        />
      </SimpleGrid>
    </section>
  );
}

function Controls({
  q,
  onChange,
  onExport,
}: {
  q: SeriesQuery;
  onChange: (change: AnalyticsSearch) => void;
  onExport?: (format: "csv" | "json") => void;
}) {
  return (
    <Group align="end" gap="md" wrap="wrap">
      <NativeSelect
        label="Range"
        data={RANGES}
        value={q.range}
        onChange={(e) => onChange({ range: e.currentTarget.value as SeriesQuery["range"] })}
      />
      <Stack gap={4}>
        <Text size="sm" fw={500} id="bucket-label">
          Bucket
        </Text>
        <SegmentedControl
          aria-labelledby="bucket-label"
          data={BUCKETS}
          value={q.bucket}
          onChange={(value) => onChange({ bucket: value as Bucket })}
        />
      </Stack>
      <NativeSelect
        label="Time zone"
        data={zones(q.tz)}
        value={q.tz}
        onChange={(e) => onChange({ tz: e.currentTarget.value })}
      />
      {onExport && (
        <Group gap="xs">
          <Button variant="default" onClick={() => onExport("csv")}>
            Export CSV
          </Button>
          <Button variant="default" onClick={() => onExport("json")}>
            Export JSON
          </Button>
        </Group>
      )}
    </Group>
  );
}

const EXPORT_COLUMNS: ExportColumn[] = [
  { key: "t", label: "bucket_start" },
  ...[...ISSUE_SERIES, ...RUN_SERIES, ...FINDING_SERIES].map((s) => ({
    key: s.name,
    label: s.name,
  })),
];

/** A chart in its own section, titled alike; a placeholder of its height until the rows come. */
function ChartSection({
  chart,
  rows,
  bucket,
}: {
  chart: ChartDef;
  /** undefined while the figures load. */
  rows: Row[] | undefined;
  bucket: Bucket;
}) {
  return (
    <Section id={chart.id} title={chart.title}>
      {rows ? (
        <SeriesChart
          kind={chart.kind}
          rows={rows}
          series={chart.series}
          bucket={bucket}
          title={chart.title}
          unit={chart.unit}
        />
      ) : (
        <Skeleton h={240} />
      )}
    </Section>
  );
}

/** Range controls, the figures' charts and the export, for all projects or one. */
function SeriesSections({
  search,
  onChange,
  projectId,
  fileStem,
}: {
  search: AnalyticsSearch;
  onChange: (change: AnalyticsSearch) => void;
  projectId?: string;
  fileStem: string;
}) {
  const q = seriesQuery(search, browserTimeZone());
  const series = useSeries(METRICS, q, projectId);
  const rows: Row[] = useMemo(
    () => (series.data ? mergeSeries(series.data as Record<string, TimeSeries>, q.bucket) : []),
    [series.data, q.bucket],
  );
  const exportShown = (format: "csv" | "json") => {
    const name = `${fileStem}-${q.range}-${q.bucket}`;
    if (format === "csv") download(`${name}.csv`, "text/csv", toCsv(rows, EXPORT_COLUMNS));
    else
      download(
        `${name}.json`,
        "application/json",
        toJson(
          { range: q.range, bucket: q.bucket, tz: q.tz, project_id: projectId ?? null },
          rows,
          EXPORT_COLUMNS,
        ),
      );
  };
  return (
    <Stack gap="md">
      <Controls q={q} onChange={onChange} onExport={series.data ? exportShown : undefined} />
      {series.error && <ErrorView error={series.error} onRetry={series.refetch} />}
      <Text size="xs" c="dimmed" aria-live="polite">
        {series.isFetching ? "Loading…" : `Buckets start at midnight in ${q.tz}.`}
      </Text>
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="md">
        {SERIES_CHARTS.map((chart) => (
          <ChartSection
            key={chart.id}
            chart={chart}
            rows={series.data ? rows : undefined}
            bucket={q.bucket}
          />
        ))}
      </SimpleGrid>
      <AgentList q={q} scope={{ projectId, limit: 20 }} />
    </Stack>
  );
}

const rate = (part: number, whole: number) =>
  whole ? `${Math.round((100 * part) / whole)}%` : "—";

/** The busiest agents over the range (the API's order), each linked to its own page. */
function AgentList({ q, scope }: { q: SeriesQuery; scope: AgentScope }) {
  const perf = useAgentPerformance(q, scope);
  const agents = perf.data?.agents ?? [];
  return (
    <Section id="agents-busiest" title="Agents by finished runs">
      {perf.isPending && <Skeleton h={80} />}
      {perf.isError && <ErrorView error={perf.error} onRetry={() => perf.refetch()} />}
      {perf.data && agents.length === 0 && (
        <Text size="sm">No agent run finished in this period.</Text>
      )}
      {agents.length > 0 && (
        <Table striped withTableBorder>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Agent</Table.Th>
              <Table.Th scope="col">Type</Table.Th>
              <Table.Th scope="col">Finished runs</Table.Th>
              <Table.Th scope="col">Success rate</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {agents.map((a) => {
              const completed = a.points.reduce((n, p) => n + p.completed, 0);
              const failed = a.points.reduce((n, p) => n + p.failed, 0);
              return (
                <Table.Tr key={a.agent_id} data-agent={a.agent_id}>
                  <Table.Th scope="row" fw={400}>
                    <AnchorLink to="/analytics/agents/$agentId" params={{ agentId: a.agent_id }}>
                      {a.name ?? a.agent_id.slice(0, 8)}
                    </AnchorLink>
                  </Table.Th>
                  <Table.Td>{a.agent_type ?? "—"}</Table.Td>
                  <Table.Td>{a.runs}</Table.Td>
                  <Table.Td>{rate(completed, completed + failed)}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
    </Section>
  );
}

function AgentPerformance({ range }: { range: SeriesQuery["range"] }) {
  const perf = usePerformance(range);
  return (
    <Section id="agent-performance" title="Agent performance">
      {perf.isPending && <Skeleton h={120} />}
      {perf.isError && <ErrorView error={perf.error} onRetry={() => perf.refetch()} />}
      {perf.data && (
        <Stack gap="sm">
          <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm" component="dl" m={0}>
            <Figure label="Runs finished" value={perf.data.runs_finished} />
            <Figure label="Failure rate" value={percent(perf.data.failure_rate)} />
            <Figure label="Median run" value={seconds(perf.data.run_duration_seconds.p50)} />
            <Figure
              label="90th percentile run"
              value={seconds(perf.data.run_duration_seconds.p90)}
            />
            <Figure label="Median queue wait" value={seconds(perf.data.queue_wait_seconds.p50)} />
            <Figure
              label="Median review turnaround"
              value={seconds(perf.data.review_turnaround_seconds.p50)}
            />
          </SimpleGrid>
          {perf.data.by_agent_type.length > 0 && (
            <SeriesChart
              kind="bar"
              bucket="day"
              title="Finished runs by agent type"
              rows={perf.data.by_agent_type.map((a) => ({
                t: a.agent_type,
                completed: a.completed,
                failed: a.failed,
                cancelled: a.cancelled,
              }))}
              series={[
                { name: "completed", label: "Completed", color: "teal.6" },
                { name: "failed", label: "Failed", color: "red.6" },
                { name: "cancelled", label: "Cancelled", color: "gray.6" },
              ]}
            />
          )}
        </Stack>
      )}
    </Section>
  );
}

function ProjectLinks() {
  const projects = useProjects("", 1, 100);
  return (
    <Section id="analytics-projects" title="Projects">
      {projects.isError && <ErrorView error={projects.error} onRetry={() => projects.refetch()} />}
      {projects.data?.items.length === 0 && <Text size="sm">No projects yet.</Text>}
      <Group gap="md">
        {projects.data?.items.map((p) => (
          <AnchorLink key={p.id} to="/analytics/projects/$projectId" params={{ projectId: p.id }}>
            {p.name}
          </AnchorLink>
        ))}
      </Group>
    </Section>
  );
}

export function AnalyticsDashboardPage() {
  const search = useSearch({ from: "/app/analytics" });
  const navigate = useNavigate({ from: "/analytics" });
  const dashboard = useDashboard();
  const onChange = (change: AnalyticsSearch) =>
    void navigate({ search: (prev) => withChange(prev, change), replace: true });
  return (
    <>
      <PageHeader
        title="Analytics"
        description={
          dashboard.data?.projects == null
            ? "Every project."
            : `Across your ${dashboard.data.projects} project${dashboard.data.projects === 1 ? "" : "s"}.`
        }
      />
      <Stack gap="md">
        {dashboard.isPending && <Skeleton h={140} />}
        {dashboard.isError && (
          <ErrorView error={dashboard.error} onRetry={() => dashboard.refetch()} />
        )}
        {dashboard.data && <Figures figures={dashboard.data} />}
        <SeriesSections search={search} onChange={onChange} fileStem="analytics" />
        <AgentPerformance range={seriesQuery(search).range} />
        <ProjectLinks />
      </Stack>
    </>
  );
}

export function ProjectAnalyticsPage() {
  const { projectId } = useParams({ from: "/app/analytics/projects/$projectId" });
  const search = useSearch({ from: "/app/analytics/projects/$projectId" });
  const navigate = useNavigate({ from: "/analytics/projects/$projectId" });
  const project = useProject(projectId);
  const figures = useProjectFigures(projectId);
  const name = project.data?.name ?? "Project";
  const onChange = (change: AnalyticsSearch) =>
    void navigate({ search: (prev) => withChange(prev, change), replace: true });
  return (
    <>
      <PageHeader
        title={`${name} analytics`}
        crumbs={[{ label: "Analytics", to: "/analytics" }, { label: name }]}
      />
      <Stack gap="md">
        {(figures.isError || project.isError) && (
          <ErrorView
            error={figures.error ?? project.error}
            onRetry={() => {
              void figures.refetch();
              void project.refetch();
            }}
          />
        )}
        {figures.isPending && !figures.isError && <Skeleton h={140} />}
        {figures.data && <Figures figures={figures.data} />}
        {!figures.isError && (
          <SeriesSections
            search={search}
            onChange={onChange}
            projectId={projectId}
            fileStem={`analytics-${name.replace(/[^A-Za-z0-9_.-]+/g, "-")}`}
          />
        )}
      </Stack>
    </>
  );
}

export function AgentAnalyticsPage() {
  const { agentId } = useParams({ from: "/app/analytics/agents/$agentId" });
  const search = useSearch({ from: "/app/analytics/agents/$agentId" });
  const navigate = useNavigate({ from: "/analytics/agents/$agentId" });
  const figures = useAgentFigures(agentId);
  const q = seriesQuery(search, browserTimeZone());
  const perf = useAgentPerformance(q, { agentId });
  const agent = perf.data?.agents[0];
  const rows: Row[] = useMemo(
    () => (agent ? agentRows(agent.points, q.bucket) : []),
    [agent, q.bucket],
  );
  const name = agent?.name ?? "Agent";
  const onChange = (change: AnalyticsSearch) =>
    void navigate({ search: (prev) => withChange(prev, change), replace: true });
  const exportShown = (format: "csv" | "json") => {
    const stem = `analytics-agent-${name.replace(/[^A-Za-z0-9_.-]+/g, "-")}-${q.range}-${q.bucket}`;
    if (format === "csv") download(`${stem}.csv`, "text/csv", toCsv(rows, AGENT_EXPORT_COLUMNS));
    else
      download(
        `${stem}.json`,
        "application/json",
        toJson(
          { range: q.range, bucket: q.bucket, tz: q.tz, agent_id: agentId },
          rows,
          AGENT_EXPORT_COLUMNS,
        ),
      );
  };
  return (
    <>
      <PageHeader
        title={`${name} analytics`}
        crumbs={[{ label: "Analytics", to: "/analytics" }, { label: name }]}
        actions={
          <ButtonLink variant="default" to="/agents/$agentId" params={{ agentId }}>
            The agent
          </ButtonLink>
        }
      />
      {figures.isPending && <Skeleton h={140} />}
      {figures.isError && <ErrorView error={figures.error} onRetry={() => figures.refetch()} />}
      {figures.data && (
        <Stack gap="md">
          <AnchorLink
            to="/analytics/projects/$projectId"
            params={{ projectId: figures.data.project_id }}
          >
            The agent's project
          </AnchorLink>
          <section aria-label="Figures">
            <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm" component="dl" m={0}>
              <RunFiguresGrid runs={figures.data.runs} />
              <Figure label="Assigned open issues" value={figures.data.assigned_issues.open} />
              <Figure label="Resolved issues" value={figures.data.assigned_issues.resolved} />
              <Figure
                label="Mean quality score"
                value={
                  figures.data.quality.mean == null ? "—" : figures.data.quality.mean.toFixed(1)
                }
              />
            </SimpleGrid>
          </section>
          <Controls q={q} onChange={onChange} onExport={agent ? exportShown : undefined} />
          {perf.isError && <ErrorView error={perf.error} onRetry={() => perf.refetch()} />}
          <Text size="xs" c="dimmed" aria-live="polite">
            {perf.isFetching ? "Loading…" : `Buckets start at midnight in ${q.tz}.`}
          </Text>
          <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="md">
            {AGENT_CHARTS.map((chart) => (
              <ChartSection
                key={chart.id}
                chart={chart}
                rows={agent ? rows : undefined}
                bucket={q.bucket}
              />
            ))}
          </SimpleGrid>
        </Stack>
      )}
    </>
  );
}
