/**
 * The issue status flow as the issues service enforces it (`swe_issues.issues.service.
 * TRANSITIONS`): open → in progress → in review → resolved | closed, and a finished issue can
 * be reopened. An agent's draft pull request moves an issue to in review (through events).
 * The page offers only these moves; when the server disagrees (someone else moved the issue
 * meanwhile) its 409 lists the moves allowed now, and the page reloads the issue.
 */
import type { IssueStatus } from "@/client/types.gen";

export const TRANSITIONS: Record<IssueStatus, readonly IssueStatus[]> = {
  open: ["in_progress", "closed"],
  in_progress: ["open", "in_review", "resolved", "closed"],
  in_review: ["open", "in_progress", "resolved", "closed"],
  resolved: ["open"],
  closed: ["open"],
};

export interface TransitionAction {
  target: IssueStatus;
  label: string;
  /** `resolve` asks for a resolution (and maybe a pull request) first; `status` is one PATCH. */
  kind: "status" | "resolve";
}

function label(from: IssueStatus, to: IssueStatus): string {
  if (to === "in_progress") return from === "in_review" ? "Back to work" : "Start work";
  if (to === "in_review") return "Ready for review";
  if (to === "resolved") return "Resolve…";
  if (to === "closed") return "Close";
  return from === "in_progress" || from === "in_review" ? "Stop work" : "Reopen";
}

/** The actions offered for an issue in `status`, in the order the page shows them. */
export function transitionActions(status: IssueStatus): TransitionAction[] {
  return TRANSITIONS[status].map((target) => ({
    target,
    label: label(status, target),
    kind: target === "resolved" ? "resolve" : "status",
  }));
}

/** Assigning an agent is allowed while the work is not finished (and starts it when open). */
export function canAssign(status: IssueStatus): boolean {
  return status === "open" || status === "in_progress";
}
