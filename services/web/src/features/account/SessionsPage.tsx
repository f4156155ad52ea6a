import { Badge, Group, Skeleton, Stack, Table, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import {
  useRevokeAllSessions,
  useRevokeOtherSessions,
  useRevokeSession,
  useSessions,
} from "@/api/account";
import type { SessionOut } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { Section } from "@/components/Section";
import { signOut } from "@/lib/auth";
import { describeAgent, formatDate } from "@/lib/format";

/** This device first, then the most recently used. */
export function orderSessions(sessions: readonly SessionOut[]): SessionOut[] {
  return [...sessions].sort((a, b) =>
    a.current !== b.current ? (a.current ? -1 : 1) : b.last_used_at.localeCompare(a.last_used_at),
  );
}

function SessionRow({ session }: { session: SessionOut }) {
  const revoke = useRevokeSession();
  const agent = describeAgent(session.user_agent);
  return (
    <Table.Tr data-testid="session-row">
      <Table.Td>
        <Group gap="xs">
          <Text size="sm" fw={600} title={session.user_agent}>
            {agent}
          </Text>
          {session.current && (
            <Badge variant="filled" color="blue.9">
              this device
            </Badge>
          )}
        </Group>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{session.ip || "unknown"}</Text>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{formatDate(session.created_at)}</Text>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{formatDate(session.last_used_at)}</Text>
      </Table.Td>
      <Table.Td>
        {!session.current && (
          <ConfirmButton
            size="xs"
            label="Revoke"
            aria-label={`Revoke the session of ${agent} from ${session.ip || "an unknown address"}`}
            title="Revoke this session?"
            message={`${agent} (${session.ip || "unknown address"}) is signed out at once and has to sign in again.`}
            confirmLabel="Revoke session"
            pending={revoke.isPending}
            error={revoke.error}
            onConfirm={() => revoke.mutateAsync(session.id)}
          />
        )}
      </Table.Td>
    </Table.Tr>
  );
}

export function SessionsPage() {
  const sessions = useSessions();
  const revokeOthers = useRevokeOtherSessions();
  const revokeAll = useRevokeAllSessions();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  if (sessions.isPending) return <Skeleton h={160} />;
  if (sessions.isError) {
    return <ErrorView error={sessions.error} onRetry={() => sessions.refetch()} />;
  }
  const ordered = orderSessions(sessions.data);
  const others = ordered.filter((s) => !s.current).map((s) => s.id);

  return (
    <Section id="sessions" title="Where you are signed in">
      <Stack gap="md">
        <Text size="sm">
          Each browser or device you signed in with is a session. Revoking one signs it out at once:
          its next request fails and it has to sign in again.
        </Text>
        <Table verticalSpacing="xs" striped captionSide="top">
          <Table.Caption>
            {ordered.length} active session{ordered.length === 1 ? "" : "s"}
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Browser or client</Table.Th>
              <Table.Th scope="col">IP address</Table.Th>
              <Table.Th scope="col">Signed in</Table.Th>
              <Table.Th scope="col">Last active</Table.Th>
              <Table.Th scope="col">Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {ordered.map((session) => (
              <SessionRow key={session.id} session={session} />
            ))}
          </Table.Tbody>
        </Table>
        <Group>
          <ConfirmButton
            label="Sign out all other sessions"
            title="Sign out every other session?"
            message={`${others.length} other session${others.length === 1 ? "" : "s"} will be signed out. This one stays signed in.`}
            confirmLabel="Sign them out"
            disabled={others.length === 0}
            pending={revokeOthers.isPending}
            error={revokeOthers.error}
            onConfirm={() => revokeOthers.mutateAsync(others)}
          />
          <ConfirmButton
            label="Sign out everywhere"
            title="Sign out everywhere?"
            message="Every session ends, this one included: you will have to sign in again here too."
            confirmLabel="Sign out everywhere"
            pending={revokeAll.isPending}
            error={revokeAll.error}
            onConfirm={async () => {
              await revokeAll.mutateAsync();
              await signOut();
              queryClient.clear();
              await navigate({ to: "/sign-in" });
            }}
          />
        </Group>
      </Stack>
    </Section>
  );
}
