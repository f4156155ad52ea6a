/**
 * The four agent types and their configuration, a copy of the agents service's
 * `swe_agents.agents.schemas` (CodeAnalyzerConfig, PrReviewerConfig, IssueResolverConfig,
 * CustomConfig): the form shows each field with its default; the server validates and its 422
 * goes next to the field (`config.<name>`).
 */
export type AgentType = "code_analyzer" | "pr_reviewer" | "issue_resolver" | "custom";

export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export const LEVELS = ["quick", "standard", "thorough"] as const;
export const STEPS = ["lint", "secrets", "complexity", "security"] as const;

export type ConfigField =
  | {
      name: string;
      label: string;
      kind: "select";
      options: readonly string[];
      default: string;
      help?: string;
    }
  | {
      name: string;
      label: string;
      kind: "number";
      default: number | null;
      min?: number;
      max?: number;
      step?: number;
      help?: string;
    }
  | { name: string; label: string; kind: "lines"; default: string[] | null; help?: string }
  | { name: string; label: string; kind: "steps"; default: string[]; help?: string }
  | { name: string; label: string; kind: "text"; default: string; help?: string };

const timeout: ConfigField = {
  name: "timeout_seconds",
  label: "Timeout (seconds)",
  kind: "number",
  default: null,
  min: 1,
  max: 3600,
  help: "A run stops after this long; empty: the service's default",
};
const testPaths: ConfigField = {
  name: "test_paths",
  label: "Test code paths",
  kind: "lines",
  default: null,
  help: "Globs of test code, one a line (shown apart, never rated); empty: tests/, test_*.py…",
};
const formula: ConfigField = {
  name: "quality_formula",
  label: "Quality formula",
  kind: "select",
  options: ["2", "1"],
  default: "2",
  help: "2: ratings for maintainability, reliability and security; 1: the former debt ratio",
};
const complexity: ConfigField = {
  name: "complexity_threshold",
  label: "Complexity threshold",
  kind: "number",
  default: 10,
  min: 2,
  max: 100,
  help: "A function above this cyclomatic complexity is a finding",
};
const severity = (value: string, help: string): ConfigField => ({
  name: "min_severity",
  label: "Least severity reported",
  kind: "select",
  options: SEVERITIES,
  default: value,
  help,
});

export const AGENT_TYPES: Record<
  AgentType,
  { label: string; description: string; fields: ConfigField[] }
> = {
  code_analyzer: {
    label: "Code analyzer",
    description: "Runs the linters and security scanners on a branch and scores its quality.",
    fields: [
      severity("info", "Findings below it are left out"),
      complexity,
      formula,
      testPaths,
      timeout,
    ],
  },
  pr_reviewer: {
    label: "Pull request reviewer",
    description: "Reviews a pull request's changes and comments on them.",
    fields: [
      {
        name: "level",
        label: "Review level",
        kind: "select",
        options: LEVELS,
        default: "standard",
      },
      severity("low", "Comments below it are left out"),
      {
        name: "test_min_severity",
        label: "Least severity in test code",
        kind: "select",
        options: SEVERITIES,
        default: "high",
      },
      {
        name: "max_comments",
        label: "Most comments",
        kind: "number",
        default: 50,
        min: 1,
        max: 500,
      },
      {
        name: "include",
        label: "Only these paths",
        kind: "lines",
        default: [],
        help: "Globs, one a line; empty: every file",
      },
      {
        name: "exclude",
        label: "Never these paths",
        kind: "lines",
        default: [],
        help: "Globs, one a line",
      },
      {
        name: "suppressed_fingerprints",
        label: "Suppressed findings",
        kind: "lines",
        default: [],
        help: "Fingerprints (32 hexadecimal characters), one a line",
      },
      complexity,
      formula,
      testPaths,
      timeout,
    ],
  },
  issue_resolver: {
    label: "Issue resolver",
    description:
      "Proposes a change that resolves an issue, proved by the repository's tests run in a sandbox, on a branch of its own.",
    fields: [
      {
        name: "samples",
        label: "Candidate patches",
        kind: "number",
        default: 4,
        min: 1,
        max: 20,
      },
      {
        name: "max_calls",
        label: "Most model calls",
        kind: "number",
        default: 12,
        min: 1,
        max: 200,
      },
      {
        name: "max_tokens",
        label: "Most tokens",
        kind: "number",
        default: 200_000,
        min: 100,
        max: 20_000_000,
      },
      {
        name: "max_context_files",
        label: "Most files in context",
        kind: "number",
        default: 8,
        min: 1,
        max: 50,
      },
      { name: "branch_prefix", label: "Branch prefix", kind: "text", default: "agent/" },
      formula,
      testPaths,
      timeout,
    ],
  },
  custom: {
    label: "Custom analysis",
    description: "The analysis steps you choose, with an optional score it must reach.",
    fields: [
      { name: "steps", label: "Steps", kind: "steps", default: ["lint"], help: "At least one" },
      severity("info", "Findings below it are left out"),
      complexity,
      {
        name: "fail_under_score",
        label: "Fail under score",
        kind: "number",
        default: null,
        min: 0,
        max: 100,
        step: 0.1,
        help: "The run fails when the quality score is below it; empty: never",
      },
      formula,
      testPaths,
      timeout,
    ],
  },
};

export const AGENT_TYPE_OPTIONS = (Object.keys(AGENT_TYPES) as AgentType[]).map((value) => ({
  value,
  label: AGENT_TYPES[value].label,
}));

export function typeLabel(type: string): string {
  return AGENT_TYPES[type as AgentType]?.label ?? type;
}

/** The form's values for a config (strings for inputs, arrays for the step checkboxes). */
export type ConfigValues = Record<string, string | string[]>;

export function configToForm(type: AgentType, config: Record<string, unknown>): ConfigValues {
  const out: ConfigValues = {};
  for (const field of AGENT_TYPES[type].fields) {
    const value = field.name in config ? config[field.name] : field.default;
    if (field.kind === "steps") out[field.name] = Array.isArray(value) ? value.map(String) : [];
    else if (field.kind === "lines") out[field.name] = Array.isArray(value) ? value.join("\n") : "";
    else out[field.name] = value === null || value === undefined ? "" : String(value);
  }
  return out;
}

/** The config the API gets: an empty optional field is left out (its default applies). */
export function formToConfig(type: AgentType, values: ConfigValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of AGENT_TYPES[type].fields) {
    const value = values[field.name];
    if (field.kind === "steps") {
      out[field.name] = Array.isArray(value) ? value : [];
    } else if (field.kind === "lines") {
      const lines = String(value ?? "")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
      if (lines.length > 0 || field.default !== null) out[field.name] = lines;
    } else if (field.kind === "number") {
      const text = String(value ?? "").trim();
      // A value that is not a number goes as typed: the server's 422 says what is wrong.
      if (text !== "") out[field.name] = Number.isNaN(Number(text)) ? text : Number(text);
    } else {
      out[field.name] = String(value ?? "");
    }
  }
  return out;
}
