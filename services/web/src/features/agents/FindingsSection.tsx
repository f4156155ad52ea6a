import {
  Badge,
  Button,
  Group,
  NativeSelect,
  SimpleGrid,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { Fragment, useMemo, useState } from "react";
import { DOWNLOADS, downloadRunExport, useRunReport } from "@/api/agents";
import { ErrorView } from "@/components/ErrorView";
import { Pager } from "@/components/Pager";
import { Section } from "@/components/Section";
import {
  FINDINGS_PAGE_SIZE,
  type FindingQuery,
  type FindingSort,
  findingsOf,
  SEVERITY_ORDER,
  selectFindings,
} from "@/features/agents/findings";
import { SourceContext } from "@/features/agents/SourceContext";

const SEVERITY_COLOR: Record<string, string> = {
  critical: "red.9",
  high: "red.9",
  medium: "#9c4200",
  low: "#7a5c00",
  info: "gray.8",
};

/** A completed run's quality score, findings and downloads (GET .../report and .../sarif). */
export function FindingsSection({ runId }: { runId: string }) {
  const report = useRunReport(runId, true);
  if (report.isPending) return <Skeleton h={200} />;
  if (report.isError) return <ErrorView error={report.error} onRetry={() => report.refetch()} />;
  const result = report.data.result;
  return (
    <>
      <QualitySection result={result} />
      <Section id="findings-title" title="Findings">
        <Stack gap="sm">
          {typeof result.summary === "string" && <Text size="sm">{result.summary}</Text>}
          <Downloads runId={runId} />
          <FindingsTable runId={runId} result={result} />
        </Stack>
      </Section>
    </>
  );
}

function Downloads({ runId }: { runId: string }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <Stack gap={4}>
      <Group gap="xs">
        <Text size="sm">Download:</Text>
        {DOWNLOADS.map((download) => (
          <Button
            key={download.label}
            size="xs"
            variant="default"
            onClick={() => {
              setError(null);
              downloadRunExport(runId, download).catch(setError);
            }}
          >
            {download.label}
          </Button>
        ))}
      </Group>
      {error !== null && <ErrorView error={error} />}
    </Stack>
  );
}

type Rating = { rating?: string; count?: number; worst_severity?: string | null };

function QualitySection({ result }: { result: Record<string, unknown> }) {
  const quality = result.quality as
    | {
        score?: number;
        rating?: string;
        formula_version?: string;
        ratings?: Record<string, Rating>;
        to_review?: { count?: number };
        tests?: { findings?: number; lines_of_code?: number };
        components?: Record<string, unknown>;
      }
    | undefined;
  if (!quality) return null;
  const components = Object.entries(quality.components ?? {}).filter(
    ([, value]) => typeof value !== "object" || value === null,
  );
  return (
    <Section id="quality-title" title="Quality">
      <Stack gap="sm">
        <Group gap="lg" align="baseline">
          <Text size="xl" fw={700} data-testid="quality-score">
            {quality.score ?? "?"} / 100
          </Text>
          <Badge size="lg" variant="outline" color="dark">
            rating {quality.rating ?? "?"}
          </Badge>
          <Text size="sm" c="dimmed">
            formula version {quality.formula_version ?? "?"}
          </Text>
        </Group>
        {quality.ratings && (
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            {Object.entries(quality.ratings).map(([name, rating]) => (
              <div key={name}>
                <Text size="sm" fw={600} tt="capitalize">
                  {name}: {rating.rating ?? "?"}
                </Text>
                <Text size="sm">
                  {rating.count ?? 0} finding{rating.count === 1 ? "" : "s"}
                  {rating.worst_severity ? `, worst ${rating.worst_severity}` : ""}
                </Text>
              </div>
            ))}
          </SimpleGrid>
        )}
        <Text size="sm">
          {quality.to_review ? `${quality.to_review.count ?? 0} security hotspots to review. ` : ""}
          {quality.tests
            ? `Test code: ${quality.tests.findings ?? 0} findings in ${quality.tests.lines_of_code ?? 0} lines, not rated.`
            : ""}
        </Text>
        {components.length > 0 && (
          <Text size="sm" c="dimmed">
            {components.map(([key, value]) => `${key.replaceAll("_", " ")}: ${value}`).join(" · ")}
          </Text>
        )}
      </Stack>
    </Section>
  );
}

function FindingsTable({ runId, result }: { runId: string; result: Record<string, unknown> }) {
  const all = useMemo(() => findingsOf(result), [result]);
  // An analysis keeps the lines around its findings; a review's comments sit on its diff.
  const hasSource = Array.isArray(result.findings);
  const [open, setOpen] = useState<number | null>(null);
  const tools = useMemo(() => [...new Set(all.map((f) => f.tool))].sort(), [all]);
  const [query, setQuery] = useState<FindingQuery>({
    severity: "",
    tool: "",
    text: "",
    sort: "severity",
  });
  const [page, setPage] = useState(1);
  const shown = useMemo(() => selectFindings(all, query), [all, query]);
  const change = (next: Partial<FindingQuery>) => {
    setQuery({ ...query, ...next });
    setPage(1);
  };
  const rows = shown.slice((page - 1) * FINDINGS_PAGE_SIZE, page * FINDINGS_PAGE_SIZE);

  if (all.length === 0) return <Text>No findings.</Text>;
  return (
    <Stack gap="sm">
      <Group align="flex-end" wrap="wrap">
        <NativeSelect
          label="Severity"
          value={query.severity}
          data={[{ value: "", label: "Any severity" }, ...SEVERITY_ORDER]}
          onChange={(e) => change({ severity: e.currentTarget.value })}
          w={160}
        />
        <NativeSelect
          label="Tool"
          value={query.tool}
          data={[{ value: "", label: "Any tool" }, ...tools]}
          onChange={(e) => change({ tool: e.currentTarget.value })}
          w={160}
        />
        <TextInput
          label="Search"
          description="Message, file or rule"
          value={query.text}
          onChange={(e) => change({ text: e.currentTarget.value })}
          w={240}
        />
        <NativeSelect
          label="Sort by"
          value={query.sort}
          data={[
            { value: "severity", label: "Severity" },
            { value: "file", label: "File and line" },
            { value: "tool", label: "Tool and rule" },
          ]}
          onChange={(e) => change({ sort: e.currentTarget.value as FindingSort })}
          w={160}
        />
      </Group>
      <Table striped verticalSpacing="xs" captionSide="top">
        <Table.Caption>
          {shown.length === all.length
            ? `${all.length} finding${all.length === 1 ? "" : "s"}`
            : `${shown.length} of ${all.length} findings`}
        </Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Severity</Table.Th>
            <Table.Th scope="col">Tool</Table.Th>
            <Table.Th scope="col">Rule</Table.Th>
            <Table.Th scope="col">Location</Table.Th>
            <Table.Th scope="col">Message</Table.Th>
            {hasSource && (
              <Table.Th scope="col">
                <span className="sr-only">Source</span>
              </Table.Th>
            )}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((finding) => (
            <Fragment key={finding.id}>
              <Table.Tr>
                <Table.Td>
                  <Badge variant="outline" color={SEVERITY_COLOR[finding.severity] ?? "gray.8"}>
                    {finding.severity}
                  </Badge>
                </Table.Td>
                <Table.Td>{finding.tool}</Table.Td>
                <Table.Td>
                  <code>{finding.rule}</code>
                </Table.Td>
                <Table.Td>
                  <code className="swe-finding-location">
                    {finding.path}:{finding.line}
                  </code>
                  {finding.test && (
                    <Text size="xs" c="dimmed">
                      test code
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{finding.message}</Text>
                </Table.Td>
                {hasSource && (
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="default"
                      aria-expanded={open === finding.id}
                      aria-controls={`finding-source-${finding.id}`}
                      aria-label={`${open === finding.id ? "Hide source" : "Source"} of ${finding.path}:${finding.line}`}
                      onClick={() => setOpen(open === finding.id ? null : finding.id)}
                    >
                      {open === finding.id ? "Hide source" : "Source"}
                    </Button>
                  </Table.Td>
                )}
              </Table.Tr>
              {hasSource && open === finding.id && (
                <Table.Tr id={`finding-source-${finding.id}`}>
                  <Table.Td colSpan={6}>
                    <SourceContext runId={runId} path={finding.path} line={finding.line} />
                  </Table.Td>
                </Table.Tr>
              )}
            </Fragment>
          ))}
        </Table.Tbody>
      </Table>
      {shown.length === 0 && <Text size="sm">No finding matches.</Text>}
      <Pager total={shown.length} pageSize={FINDINGS_PAGE_SIZE} page={page} onChange={setPage} />
    </Stack>
  );
}
