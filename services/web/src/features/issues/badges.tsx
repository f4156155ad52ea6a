import { Badge, Group } from "@mantine/core";
import type { IssueStatus, Priority } from "@/client/types.gen";
import { STATUS_LABEL } from "@/features/issues/search";

// Outline badges in shades that keep small text at 4.5:1 or more on white (WCAG AA).
const STATUS_COLOR: Record<IssueStatus, string> = {
  open: "#1864ab",
  in_progress: "#862e9c",
  in_review: "#0b7285",
  resolved: "#1e6a2e",
  closed: "gray.8",
};
const PRIORITY_COLOR: Record<Priority, string> = {
  critical: "red.9",
  high: "#8a4b00",
  medium: "dark",
  low: "gray.8",
};

export function StatusBadge({ status }: { status: IssueStatus }) {
  return (
    <Badge variant="outline" color={STATUS_COLOR[status]} data-testid="issue-status">
      {STATUS_LABEL[status]}
    </Badge>
  );
}

export function PriorityBadge({ priority, w }: { priority: Priority; w?: number }) {
  return (
    <Badge variant="outline" color={PRIORITY_COLOR[priority]} w={w} style={{ flexShrink: 0 }}>
      {priority}
    </Badge>
  );
}

export function LabelBadges({ labels }: { labels: string[] }) {
  if (labels.length === 0) return null;
  return (
    <Group gap={4} component="span">
      {labels.map((label) => (
        <Badge key={label} variant="default" tt="none" size="sm">
          {label}
        </Badge>
      ))}
    </Group>
  );
}
