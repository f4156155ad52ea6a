/** The header's bell: how many run changes are unread, and the list of the latest ones. */
import { ActionIcon, Badge, Button, Group, Indicator, Stack, Text } from "@mantine/core";
import { useClickOutside } from "@mantine/hooks";
import { useRef, useState } from "react";
import { useProject } from "@/api/projects";
import { AnchorLink } from "@/components/links";
import { RunStatusBadge } from "@/features/agents/runFormat";
import { describeChange } from "@/features/notifications/inbox";
import { useNotifications } from "@/features/notifications/NotificationsProvider";
import { formatDate } from "@/lib/format";
import type { RunChange } from "@/lib/runFeed";

function BellIcon() {
  return (
    <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
      />
    </svg>
  );
}

function ProjectName({ projectId }: { projectId: string }) {
  const project = useProject(projectId);
  return <>{project.data?.name ?? "a project"}</>;
}

function Item({ change, unread }: { change: RunChange; unread: boolean }) {
  return (
    <li className="swe-notification" data-unread={unread || undefined}>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <span className="swe-notification-status">
          {change.delivery ? (
            <Badge
              variant="outline"
              color={change.delivery.status === "failed" ? "red.9" : "#1e6a2e"}
            >
              {change.delivery.status === "failed" ? "Not delivered" : "Delivered"}
            </Badge>
          ) : (
            <RunStatusBadge status={change.status} />
          )}
        </span>
        <Stack gap={0}>
          <AnchorLink to="/runs/$runId" params={{ runId: change.run_id }} size="sm" fw={600}>
            {describeChange(change)}
          </AnchorLink>
          <Text size="xs">
            in <ProjectName projectId={change.project_id} /> · {formatDate(change.at)}
            {unread && <span className="sr-only"> (unread)</span>}
          </Text>
        </Stack>
      </Group>
    </li>
  );
}

/**
 * A disclosure (a button and the panel it shows), not a floating popover: nothing to position
 * or animate, Escape and a click elsewhere close it, and focus goes back to the bell.
 */
export function NotificationsBell() {
  const { items, unread, readUpTo, markAllRead } = useNotifications();
  const label = unread > 0 ? `Notifications, ${unread} unread` : "Notifications";
  const [opened, setOpened] = useState(false);
  const bell = useRef<HTMLButtonElement>(null);
  const box = useClickOutside(() => setOpened(false));
  const close = () => {
    setOpened(false);
    bell.current?.focus();
  };
  return (
    <div ref={box} className="swe-bell">
      <Indicator
        label={unread > 99 ? "99+" : unread}
        disabled={unread === 0}
        size={18}
        color="red.9"
        offset={4}
      >
        <ActionIcon
          ref={bell}
          variant="subtle"
          color="dark"
          size="lg"
          aria-label={label}
          aria-expanded={opened}
          aria-controls="notifications-panel"
          onClick={() => setOpened((open) => !open)}
        >
          <BellIcon />
        </ActionIcon>
      </Indicator>
      {opened && (
        <section
          id="notifications-panel"
          aria-label="Notifications"
          className="swe-bell-panel"
          onKeyDown={(event) => {
            if (event.key === "Escape") close();
          }}
        >
          <Stack gap="xs">
            <Group justify="space-between">
              <Text fw={700} size="sm" component="h2" m={0}>
                Run notifications
              </Text>
              <Button size="xs" variant="default" disabled={unread === 0} onClick={markAllRead}>
                Mark all as read
              </Button>
            </Group>
            {items.length === 0 ? (
              <Text size="sm">No runs have changed in your projects lately.</Text>
            ) : (
              <ul className="swe-notifications" aria-label="Latest run changes">
                {items.map((change) => (
                  <Item key={change.id} change={change} unread={change.id > readUpTo} />
                ))}
              </ul>
            )}
          </Stack>
        </section>
      )}
    </div>
  );
}
