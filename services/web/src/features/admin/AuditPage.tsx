import {
  Badge,
  Button,
  Code,
  Group,
  NativeSelect,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import { ADMIN_PAGE_SIZE, type AuditFilters, useAdminUser, useAudit } from "@/api/admin";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { Pager } from "@/components/Pager";
import { AUDIT_ACTIONS, isUserId } from "@/features/admin/filters";
import { describeAgent, formatDate } from "@/lib/format";

/** A user id from the trail, named (the admin API looks it up once per page of ids). */
function UserRef({ id }: { id: string | null }) {
  const user = useAdminUser(id);
  if (!id) return <Text size="sm">–</Text>;
  const name = user.data?.username ?? `${id.slice(0, 8)}…`;
  return (
    <AnchorLink to="/admin/audit" search={{ user_id: id }} size="sm" title={id}>
      {name}
    </AnchorLink>
  );
}

/** The event's details in one line: key=value, values as JSON. */
export function detailsLine(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

function Filters({ search, go }: { search: AuditFilters; go: (next: AuditFilters) => void }) {
  const [userId, setUserId] = useState(search.user_id ?? "");
  const badId = userId.trim() !== "" && !isUserId(userId);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (!badId) go({ ...search, user_id: userId.trim() || undefined, page: undefined });
      }}
    >
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label="User id"
          description="Whose account the event concerns"
          placeholder="3f2b6c1a-…"
          value={userId}
          onChange={(e) => setUserId(e.currentTarget.value)}
          error={badId ? "A user id looks like 3f2b6c1a-1111-4222-8333-444455556666" : undefined}
          w={340}
        />
        <NativeSelect
          label="Action"
          description="What happened"
          data={[
            { value: "", label: "Any action" },
            ...AUDIT_ACTIONS.map((a) => ({ value: a, label: a })),
          ]}
          value={search.action ?? ""}
          onChange={(e) =>
            go({ ...search, action: e.currentTarget.value || undefined, page: undefined })
          }
          w={240}
        />
        <NativeSelect
          label="Outcome"
          description="Refused attempts are failures"
          data={[
            { value: "", label: "Any outcome" },
            { value: "success", label: "success" },
            { value: "failure", label: "failure" },
          ]}
          value={search.outcome ?? ""}
          onChange={(e) =>
            go({
              ...search,
              outcome: (e.currentTarget.value || undefined) as AuditFilters["outcome"],
              page: undefined,
            })
          }
          w={180}
        />
        <Group gap="xs">
          <Button type="submit" variant="default" size="sm">
            Apply
          </Button>
          <Button
            variant="subtle"
            size="sm"
            onClick={() => {
              setUserId("");
              go({});
            }}
          >
            Clear filters
          </Button>
        </Group>
      </Group>
    </form>
  );
}

export function AuditPage() {
  const search = useSearch({ from: "/app/admin/audit" });
  const navigate = useNavigate({ from: "/admin/audit" });
  const audit = useAudit(search);
  const go = (next: AuditFilters) => void navigate({ search: next });
  return (
    <Stack gap="md">
      <Text size="sm">
        Security events recorded by the auth service, newest first: sign-ins, password and e-mail
        changes, API keys, sessions, and administrators' actions on accounts.
      </Text>
      <Filters key={search.user_id ?? ""} search={search} go={go} />
      {audit.isPending && <Skeleton h={200} />}
      {audit.isError && <ErrorView error={audit.error} onRetry={() => audit.refetch()} />}
      {audit.data && audit.data.items.length === 0 && <Text>No event matches these filters.</Text>}
      {audit.data && audit.data.items.length > 0 && (
        <Table verticalSpacing="xs" striped captionSide="top">
          <Table.Caption>
            {audit.data.total} event{audit.data.total === 1 ? "" : "s"}
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">When</Table.Th>
              <Table.Th scope="col">Action</Table.Th>
              <Table.Th scope="col">Outcome</Table.Th>
              <Table.Th scope="col">Account</Table.Th>
              <Table.Th scope="col">By</Table.Th>
              <Table.Th scope="col">From</Table.Th>
              <Table.Th scope="col">Details</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {audit.data.items.map((event) => (
              <Table.Tr key={event.id} data-testid="audit-row">
                <Table.Td>
                  <Text size="sm">{formatDate(event.at)}</Text>
                </Table.Td>
                <Table.Td>
                  <Code>{event.action}</Code>
                </Table.Td>
                <Table.Td>
                  <Badge
                    variant="outline"
                    size="sm"
                    color={event.outcome === "success" ? "#1e6a2e" : "#a51d1d"}
                  >
                    {event.outcome}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <UserRef id={event.user_id} />
                </Table.Td>
                <Table.Td>
                  {event.actor_id && event.actor_id !== event.user_id ? (
                    <UserRef id={event.actor_id} />
                  ) : (
                    <Text size="sm">{event.user_id ? "themselves" : "–"}</Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{event.ip || "–"}</Text>
                  <Text size="xs" title={event.user_agent}>
                    {describeAgent(event.user_agent)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" style={{ wordBreak: "break-word" }} maw={320}>
                    {detailsLine(event.details)}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Pager
        total={audit.data?.total ?? 0}
        pageSize={ADMIN_PAGE_SIZE}
        page={search.page ?? 1}
        onChange={(next) => go({ ...search, page: next > 1 ? next : undefined })}
      />
    </Stack>
  );
}
