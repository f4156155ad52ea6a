/** Words and colours for pull request states, review statuses, verdicts and severities. */
import type { PullRequestState, ReviewLevel, ReviewStatus } from "@/client/types.gen";
import type { Severity } from "@/features/pulls/diff";

// Dark shades only: outline badges print their text in this colour on white (WCAG AA).
const GREEN = "#1e6a2e";
const RED = "red.9";
const ORANGE = "#9c4200";
const OCHRE = "#7a5c00";
const BLUE = "blue.9";
const GRAY = "gray.8";
const VIOLET = "violet.9";

export const PULL_STATES: { value: PullRequestState; label: string; color: string }[] = [
  { value: "open", label: "open", color: GREEN },
  { value: "closed", label: "closed", color: GRAY },
  { value: "merged", label: "merged", color: VIOLET },
];

export const REVIEW_STATUSES: { value: ReviewStatus; label: string; color: string }[] = [
  { value: "none", label: "not reviewed", color: GRAY },
  { value: "pending", label: "review pending", color: BLUE },
  { value: "approved", label: "approved", color: GREEN },
  { value: "changes_requested", label: "changes requested", color: RED },
  { value: "commented", label: "commented", color: OCHRE },
  { value: "failed", label: "review failed", color: RED },
];

export const REVIEW_LEVELS: { value: ReviewLevel; label: string }[] = [
  { value: "quick", label: "Quick: lint and secrets on the changed lines" },
  { value: "standard", label: "Standard: + complexity and maintainability" },
  { value: "thorough", label: "Thorough: + security analysis" },
];

export const SEVERITY_COLOR: Record<Severity, string> = {
  critical: RED,
  high: ORANGE,
  medium: OCHRE,
  low: BLUE,
  info: GRAY,
};

export function stateOf(value: PullRequestState): { label: string; color: string } {
  return PULL_STATES.find((s) => s.value === value) ?? { label: value, color: GRAY };
}

export function reviewStatusOf(value: ReviewStatus): { label: string; color: string } {
  return REVIEW_STATUSES.find((s) => s.value === value) ?? { label: value, color: GRAY };
}

/** A review's verdict (the reviewer's `approval`) in words. */
export function verdictOf(approval: string | null | undefined): { label: string; color: string } {
  switch ((approval ?? "").toLowerCase()) {
    case "approve":
    case "approved":
      return { label: "Approved", color: GREEN };
    case "request_changes":
    case "changes_requested":
      return { label: "Changes requested", color: RED };
    case "comment":
    case "commented":
      return { label: "Commented", color: OCHRE };
    default:
      return { label: approval ? approval : "No verdict", color: GRAY };
  }
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : "—";
}
