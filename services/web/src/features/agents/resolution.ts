/**
 * What an issue_resolver run delivered, read from its result (agent output: loosely typed JSON,
 * written by services/agents runners/issue_resolver.py `_deliver` / `_unresolved`, and its
 * `pull_request` completed by the issues service's answer). Read defensively: a missing or
 * mistyped field is absent, never a crash.
 */

export type PullRequestStatus = "requested" | "opened" | "failed";

export interface PullRequestOutcome {
  status: PullRequestStatus;
  number: number | null;
  url: string | null;
  error: string | null;
  githubStatus: number | null;
  branch: string | null;
  baseRef: string | null;
}

export interface CandidateEvidence {
  candidate: number;
  passed: boolean;
  agreement: number | null;
  files: string[];
  /** Tests that passed before and not after this candidate. */
  regressions: string[];
}

export interface ModelUsage {
  name: string | null;
  calls: number | null;
  tokens: number | null;
  cost: number | null;
}

export interface Resolution {
  resolved: boolean;
  summary: string;
  /** Why no candidate passed ("no candidate passed: " taken off), when unresolved. */
  reason: string | null;
  branch: string | null;
  baseCommit: string | null;
  commit: string | null;
  /** The unified diff (git diff base..commit) as text, else the candidate's patch. */
  diff: string | null;
  filesChanged: number | null;
  addedLines: number | null;
  failToPass: string[];
  passToPass: string[];
  scoreChange: { before: number; after: number; delta: number } | null;
  model: ModelUsage | null;
  candidates: CandidateEvidence[];
  pullRequest: PullRequestOutcome | null;
  hasTrajectory: boolean;
}

type Json = Record<string, unknown>;

function record(value: unknown): Json | null {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : null;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

const STATUSES: readonly PullRequestStatus[] = ["requested", "opened", "failed"];

function pullRequestOf(value: unknown): PullRequestOutcome | null {
  const pr = record(value);
  if (!pr) return null;
  // A request the issues service has not answered yet carries no status.
  const status = STATUSES.includes(pr.status as PullRequestStatus)
    ? (pr.status as PullRequestStatus)
    : "requested";
  const url = text(pr.url);
  return {
    status,
    number: num(pr.number),
    // Only a web link is a link: anything else is not followed.
    url: url && /^https?:\/\//i.test(url) ? url : null,
    error: text(pr.error),
    githubStatus: num(pr.github_status),
    branch: text(pr.branch),
    baseRef: text(pr.base_ref),
  };
}

function candidatesOf(value: unknown): CandidateEvidence[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, index) => {
    const c = record(item);
    if (!c) return [];
    return [
      {
        candidate: num(c.candidate) ?? index,
        passed: c.passed === true,
        agreement: num(c.agreement),
        files: strings(c.files),
        regressions: strings(c.regressions),
      },
    ];
  });
}

const UNRESOLVED = "no candidate passed: ";

/** The resolution of an issue_resolver run's result; null when there is no result object. */
export function readResolution(result: unknown): Resolution | null {
  const r = record(result);
  if (!r) return null;
  const resolved = r.resolved === true;
  const summary = text(r.summary) ?? (resolved ? "Resolved." : "Not resolved.");
  const evidence = record(r.evidence);
  const stats = record(r.diff_stats);
  const score = record(r.score_change);
  const model = record(r.model);
  const before = num(score?.before);
  const after = num(score?.after);
  return {
    resolved,
    summary,
    reason: resolved
      ? null
      : summary.startsWith(UNRESOLVED)
        ? summary.slice(UNRESOLVED.length)
        : summary,
    branch: text(r.branch),
    baseCommit: text(r.base_commit),
    commit: text(r.commit) ?? text(r.head_sha),
    diff: text(r.diff) ?? text(r.patch),
    filesChanged: num(stats?.files),
    addedLines: num(stats?.added_lines),
    failToPass: strings(evidence?.fail_to_pass),
    passToPass: strings(evidence?.pass_to_pass),
    scoreChange:
      before !== null && after !== null
        ? { before, after, delta: num(score?.delta) ?? Math.round((after - before) * 100) / 100 }
        : null,
    model: model
      ? {
          name: text(model.name),
          calls: num(model.calls),
          tokens: num(model.tokens),
          cost: num(model.cost),
        }
      : null,
    candidates: candidatesOf(r.candidates),
    pullRequest: pullRequestOf(r.pull_request),
    hasTrajectory: Array.isArray(r.trajectory),
  };
}

/** A model cost in US dollars: cents for most, more digits for a fraction of a cent. */
export function formatCost(cost: number): string {
  if (cost === 0) return "$0.00";
  return cost < 0.01 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`;
}

/** A score change with its sign: "+4.5", "−2", "±0". */
export function formatDelta(delta: number): string {
  if (delta === 0) return "±0";
  return delta > 0 ? `+${delta}` : `−${Math.abs(delta)}`;
}
