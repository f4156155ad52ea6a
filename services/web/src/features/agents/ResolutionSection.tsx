import { Alert, Anchor, Badge, Button, Code, Group, List, Stack, Table, Text } from "@mantine/core";
import { useMemo, useState } from "react";
import { downloadRunExport, TRAJECTORY_DOWNLOAD } from "@/api/agents";
import { ErrorView } from "@/components/ErrorView";
import { Section } from "@/components/Section";
import {
  formatCost,
  formatDelta,
  type PullRequestOutcome,
  type Resolution,
  readResolution,
} from "@/features/agents/resolution";
import { DiffView } from "@/features/pulls/DiffView";
import { parseUnifiedDiff, placeComments } from "@/features/pulls/diff";

/** How many tests a list shows before "Show all". */
export const TESTS_SHOWN = 5;

const short = (sha: string) => sha.slice(0, 12);

/**
 * What an issue_resolver run delivered: the outcome in words, its draft pull request, the test
 * evidence, the score change, the model's usage, the trajectory and the patch (as text).
 */
export function ResolutionSection({ runId, result }: { runId: string; result: unknown }) {
  const resolution = useMemo(() => readResolution(result), [result]);
  if (!resolution) return null;
  return (
    <Section id="resolution-title" title="Resolution">
      <Stack gap="md">
        <Outcome resolution={resolution} />
        {resolution.resolved && <PullRequest outcome={resolution.pullRequest} />}
        <Evidence resolution={resolution} />
        <Usage runId={runId} resolution={resolution} />
        {resolution.diff && <Patch diff={resolution.diff} />}
      </Stack>
    </Section>
  );
}

function Outcome({ resolution }: { resolution: Resolution }) {
  if (!resolution.resolved) {
    return (
      <Alert color="gray" title="No candidate passed" data-testid="resolution-outcome">
        <Text size="sm">{resolution.reason}</Text>
      </Alert>
    );
  }
  const parts = [
    resolution.branch && `on branch ${resolution.branch}`,
    resolution.commit && `commit ${short(resolution.commit)}`,
    resolution.baseCommit && `based on ${short(resolution.baseCommit)}`,
  ].filter(Boolean);
  return (
    <Stack gap={4} data-testid="resolution-outcome">
      <Group gap="xs">
        <Badge color="#1e6a2e" variant="filled">
          Resolved
        </Badge>
        <Text size="sm">
          A patch passed its tests{parts.length ? `, ${parts.join(", ")}` : ""}.
        </Text>
      </Group>
      {(resolution.filesChanged !== null || resolution.addedLines !== null) && (
        <Text size="sm" c="dimmed">
          {resolution.filesChanged ?? "?"} file{resolution.filesChanged === 1 ? "" : "s"} changed,{" "}
          {resolution.addedLines ?? "?"} line{resolution.addedLines === 1 ? "" : "s"} added
        </Text>
      )}
      <Text size="sm">{resolution.summary}</Text>
    </Stack>
  );
}

function PullRequest({ outcome }: { outcome: PullRequestOutcome | null }) {
  let body: React.ReactNode;
  if (!outcome) {
    body = <Text size="sm">None was asked for: the patch stays on its branch.</Text>;
  } else if (outcome.status === "opened") {
    const label = `Draft pull request${outcome.number !== null ? ` #${outcome.number}` : ""}`;
    body = outcome.url ? (
      <Text size="sm">
        Opened:{" "}
        <Anchor href={outcome.url} target="_blank" rel="noopener noreferrer">
          {label}
        </Anchor>
      </Text>
    ) : (
      <Text size="sm">Opened: {label}</Text>
    );
  } else if (outcome.status === "failed") {
    body = (
      <Alert color="red" title="The draft pull request was not opened">
        <Text size="sm">{outcome.error ?? "No reason was given."}</Text>
        {outcome.githubStatus !== null &&
          !outcome.error?.includes(`GitHub answered ${outcome.githubStatus}`) && (
            <Text size="sm">GitHub answered {outcome.githubStatus}.</Text>
          )}
      </Alert>
    );
  } else {
    body = (
      <Text size="sm">
        Requested: the issues service opens it
        {outcome.branch ? ` from ${outcome.branch}` : ""}
        {outcome.baseRef ? ` into ${outcome.baseRef}` : ""}. Its outcome shows here as soon as
        GitHub answers.
      </Text>
    );
  }
  return (
    <Stack gap={4} data-testid="resolution-pull-request">
      <Text size="sm" fw={600}>
        Draft pull request
      </Text>
      {body}
    </Stack>
  );
}

/** Test names, the first few shown and the rest behind "Show all". */
function TestList({ title, tests, testId }: { title: string; tests: string[]; testId: string }) {
  const [all, setAll] = useState(false);
  const shown = all ? tests : tests.slice(0, TESTS_SHOWN);
  return (
    <Stack gap={4} data-testid={testId}>
      <Text size="sm" fw={600}>
        {title} ({tests.length})
      </Text>
      {tests.length === 0 ? (
        <Text size="sm" c="dimmed">
          None.
        </Text>
      ) : (
        <List size="sm" spacing={2}>
          {shown.map((test) => (
            <List.Item key={test}>
              <Code>{test}</Code>
            </List.Item>
          ))}
        </List>
      )}
      {tests.length > TESTS_SHOWN && (
        <Button size="xs" variant="subtle" w="fit-content" onClick={() => setAll(!all)}>
          {all ? "Show fewer" : `Show all ${tests.length}`}
        </Button>
      )}
    </Stack>
  );
}

function Evidence({ resolution }: { resolution: Resolution }) {
  return (
    <Stack gap="sm">
      {resolution.resolved && (
        <>
          <TestList
            title="Tests that failed before and pass after"
            tests={resolution.failToPass}
            testId="fail-to-pass"
          />
          <TestList
            title="Tests that still pass"
            tests={resolution.passToPass}
            testId="pass-to-pass"
          />
        </>
      )}
      {!resolution.resolved && resolution.candidates.length > 0 && (
        <Table verticalSpacing={4} captionSide="top" data-testid="resolution-candidates">
          <Table.Caption>
            {resolution.candidates.length} candidate
            {resolution.candidates.length === 1 ? "" : "s"} tested
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Candidate</Table.Th>
              <Table.Th scope="col">Tests</Table.Th>
              <Table.Th scope="col">Files</Table.Th>
              <Table.Th scope="col">Broke</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {resolution.candidates.map((c) => (
              <Table.Tr key={c.candidate}>
                <Table.Td>
                  {c.candidate}
                  {c.agreement !== null ? ` (agreed by ${c.agreement})` : ""}
                </Table.Td>
                <Table.Td>{c.passed ? "passed" : "failed"}</Table.Td>
                <Table.Td>{c.files.join(", ") || "—"}</Table.Td>
                <Table.Td>{c.regressions.length ? c.regressions.join(", ") : "—"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function Usage({ runId, resolution }: { runId: string; resolution: Resolution }) {
  const [error, setError] = useState<unknown>(null);
  const { scoreChange: score, model } = resolution;
  return (
    <Stack gap={4}>
      {score && (
        <Text size="sm" data-testid="resolution-score">
          Quality score {score.before} → {score.after} ({formatDelta(score.delta)})
        </Text>
      )}
      {model && (
        <Text size="sm" data-testid="resolution-model">
          Model {model.name ?? "?"}: {model.calls ?? "?"} call{model.calls === 1 ? "" : "s"},{" "}
          {model.tokens !== null ? model.tokens.toLocaleString("en") : "?"} tokens,{" "}
          {model.cost !== null ? formatCost(model.cost) : "cost unknown"}
        </Text>
      )}
      {resolution.hasTrajectory && (
        <Group gap="xs">
          <Button
            size="xs"
            variant="default"
            w="fit-content"
            onClick={() => {
              setError(null);
              downloadRunExport(runId, TRAJECTORY_DOWNLOAD).catch(setError);
            }}
          >
            Download trajectory
          </Button>
          <Text size="xs" c="dimmed">
            every model call: prompt, answer, tokens, cost
          </Text>
        </Group>
      )}
      {error !== null && <ErrorView error={error} />}
    </Stack>
  );
}

function Patch({ diff }: { diff: string }) {
  const views = useMemo(() => placeComments(parseUnifiedDiff(diff), [], new Set()), [diff]);
  return (
    <Stack gap="xs" data-testid="resolution-patch">
      <Text size="sm" fw={600}>
        Patch
      </Text>
      {views.length > 0 ? <DiffView views={views} comments={false} /> : <Code block>{diff}</Code>}
    </Stack>
  );
}
