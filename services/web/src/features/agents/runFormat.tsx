/** How a run's status, duration and score read in the lists and on its page. */
import { Badge } from "@mantine/core";
import type { RunOut } from "@/client/types.gen";

const STATUS: Record<string, { label: string; color: string }> = {
  pending: { label: "Queued", color: "gray.8" },
  running: { label: "Running", color: "blue.9" },
  completed: { label: "Completed", color: "#1e6a2e" },
  failed: { label: "Failed", color: "red.9" },
  cancelled: { label: "Cancelled", color: "#9c4200" },
};

/** "Queued", "Running", "Completed"... as the badges say. */
export function statusLabel(status: string): string {
  return STATUS[status]?.label ?? status;
}

export function RunStatusBadge({ status }: { status: string }) {
  const known = STATUS[status] ?? { label: status, color: "gray.8" };
  return (
    <Badge variant="outline" color={known.color}>
      {known.label}
    </Badge>
  );
}

/** 1.2 s, 3 min 4 s, 1 h 2 min; "—" before the run has finished. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** The quality score an analysis or review run reported, if any. */
export function runScore(run: Pick<RunOut, "result">): number | null {
  const result = run.result as Record<string, unknown> | null | undefined;
  if (!result) return null;
  const direct = result.quality_score;
  if (typeof direct === "number") return direct;
  const quality = result.quality as { score?: unknown } | undefined;
  return typeof quality?.score === "number" ? quality.score : null;
}

/** What started the run, in a few words: the ref, the pull request or the issue. */
export function triggerText(trigger: Record<string, unknown>): string {
  const pull = trigger.pull_request as Record<string, unknown> | undefined;
  if (pull) {
    const number = pull.number ? `#${pull.number} ` : "";
    return `${number}${pull.head_ref} → ${pull.base_ref}`;
  }
  const issue = trigger.issue as { title?: string } | undefined;
  if (issue?.title) return `issue: ${issue.title}`;
  return typeof trigger.ref === "string" ? trigger.ref : "";
}
