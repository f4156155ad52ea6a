import {
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  NativeSelect,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState } from "react";
import {
  ADMIN_PAGE_SIZE,
  ROLES,
  type Role,
  type UserAction,
  type UserFilters,
  useAdminUsers,
  useSetRoles,
  useUserAction,
} from "@/api/admin";
import { useMe } from "@/api/auth";
import type { AdminUserOut } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { Pager } from "@/components/Pager";
import { formatDate } from "@/lib/format";

const ROLE_HELP: Record<Role, string> = {
  admin: "admin: everything, every project, these pages",
  user: "user: their own projects and those shared with them",
  agent:
    "agent: automation accounts: runs, reviews, and the issues and pull requests assigned to it",
  readonly: "readonly: reads what they can see, changes nothing",
};

/** What a row's status badges say, strongest first. */
export function userStatus(user: AdminUserOut): { label: string; color: string }[] {
  const out: { label: string; color: string }[] = [];
  if (!user.is_active) out.push({ label: "disabled", color: "#a51d1d" });
  if (user.admin_locked) out.push({ label: "locked", color: "#a51d1d" });
  else if (user.locked) {
    out.push({
      label: `locked out until ${formatDate(user.locked_until)}`,
      color: "#8a5300",
    });
  }
  if (out.length === 0) out.push({ label: "active", color: "#1e6a2e" });
  return out;
}

function RolesDialog({
  user,
  self,
  onClose,
}: {
  user: AdminUserOut;
  self: boolean;
  onClose: () => void;
}) {
  const setRoles = useSetRoles();
  const [roles, setLocal] = useState<string[]>(user.roles);
  return (
    <Modal opened onClose={onClose} title={`Roles of ${user.username}`}>
      <Stack gap="sm">
        <Checkbox.Group value={roles} onChange={setLocal} label="Roles">
          <Stack gap={6} mt={6}>
            {ROLES.map((role) => (
              <Checkbox key={role} value={role} label={ROLE_HELP[role]} />
            ))}
          </Stack>
        </Checkbox.Group>
        <Text size="sm">
          {self
            ? "Access tokens carry roles: saving signs you out everywhere, this browser included."
            : `Access tokens carry roles: saving signs ${user.username} out everywhere.`}
        </Text>
        {setRoles.error ? <ErrorView error={setRoles.error} /> : null}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button
            disabled={roles.length === 0}
            loading={setRoles.isPending}
            onClick={async () => {
              try {
                await setRoles.mutateAsync({ userId: user.id, roles: roles as Role[] });
                onClose();
              } catch {
                // Shown in the dialog.
              }
            }}
          >
            Save roles
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function UserActions({ user, self }: { user: AdminUserOut; self: boolean }) {
  const action = useUserAction();
  const [editing, setEditing] = useState(false);
  const [verb, setVerb] = useState<UserAction | null>(null);
  const run = (next: UserAction) => {
    setVerb(next);
    return action.mutateAsync({ userId: user.id, action: next });
  };
  return (
    <Group gap={6} wrap="wrap">
      <Button
        size="xs"
        variant="default"
        onClick={() => setEditing(true)}
        aria-label={`Roles of ${user.username}`}
      >
        Roles
      </Button>
      {editing && <RolesDialog user={user} self={self} onClose={() => setEditing(false)} />}
      {!self &&
        (user.admin_locked || user.locked ? (
          <Button
            size="xs"
            variant="default"
            loading={action.isPending}
            onClick={() => void run("unlock").catch(() => undefined)}
            aria-label={`Unlock ${user.username}`}
          >
            Unlock
          </Button>
        ) : (
          <ConfirmButton
            size="xs"
            label="Lock"
            aria-label={`Lock ${user.username}`}
            title={`Lock ${user.username}?`}
            message="Every session of theirs ends at once and they cannot sign in until an administrator unlocks the account. Their data stays."
            confirmLabel="Lock account"
            pending={action.isPending}
            error={action.error}
            onConfirm={() => run("lock")}
          />
        ))}
      {!self &&
        (user.is_active ? (
          <ConfirmButton
            size="xs"
            label="Disable"
            aria-label={`Disable ${user.username}`}
            title={`Disable ${user.username}?`}
            message="The account is switched off: every session ends, sign-in and API keys stop working, and the other services are told. Enable it to undo."
            confirmLabel="Disable account"
            pending={action.isPending}
            error={action.error}
            onConfirm={() => run("disable")}
          />
        ) : (
          <Button
            size="xs"
            variant="default"
            loading={action.isPending}
            onClick={() => void run("enable").catch(() => undefined)}
            aria-label={`Enable ${user.username}`}
          >
            Enable
          </Button>
        ))}
      <AnchorLink to="/admin/audit" search={{ user_id: user.id }} size="sm">
        Audit
      </AnchorLink>
      {/* Lock and disable show their errors in their dialogs; unlock and enable here. */}
      {action.error && (verb === "unlock" || verb === "enable") ? (
        <ErrorView error={action.error} />
      ) : null}
    </Group>
  );
}

export function UsersPage() {
  const search = useSearch({ from: "/app/admin/users" });
  const navigate = useNavigate({ from: "/admin/users" });
  const me = useMe();
  const users = useAdminUsers(search);
  const [draft, setDraft] = useState(search.q ?? "");
  const go = (next: UserFilters) => void navigate({ search: next, replace: true });
  const setQuery = useDebouncedCallback(
    (q: string) => go({ ...search, q: q || undefined, page: undefined }),
    300,
  );

  return (
    <Stack gap="md">
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label="Search users"
          placeholder="Username, email or name"
          value={draft}
          onChange={(e) => {
            setDraft(e.currentTarget.value);
            setQuery(e.currentTarget.value.trim());
          }}
          w={300}
        />
        <NativeSelect
          label="Role"
          data={[{ value: "", label: "Any role" }, ...ROLES.map((r) => ({ value: r, label: r }))]}
          value={search.role ?? ""}
          onChange={(e) =>
            go({
              ...search,
              role: (e.currentTarget.value || undefined) as Role | undefined,
              page: undefined,
            })
          }
          w={160}
        />
        <NativeSelect
          label="Status"
          data={[
            { value: "", label: "Enabled and disabled" },
            { value: "true", label: "Enabled" },
            { value: "false", label: "Disabled" },
          ]}
          value={search.active === undefined ? "" : String(search.active)}
          onChange={(e) => {
            const v = e.currentTarget.value;
            go({ ...search, active: v === "" ? undefined : v === "true", page: undefined });
          }}
          w={200}
        />
      </Group>
      {users.isPending && <Skeleton h={200} />}
      {users.isError && <ErrorView error={users.error} onRetry={() => users.refetch()} />}
      {users.data && users.data.items.length === 0 && <Text>No user matches these filters.</Text>}
      {users.data && users.data.items.length > 0 && (
        <Table verticalSpacing="xs" striped highlightOnHover captionSide="top">
          <Table.Caption>
            {users.data.total} user{users.data.total === 1 ? "" : "s"}
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">User</Table.Th>
              <Table.Th scope="col">Roles</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
              <Table.Th scope="col">Two-factor</Table.Th>
              <Table.Th scope="col">Last sign-in</Table.Th>
              <Table.Th scope="col">Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.data.items.map((user) => {
              const self = user.id === me.data?.id;
              return (
                <Table.Tr key={user.id} data-testid="user-row" data-username={user.username}>
                  <Table.Td>
                    <Text size="sm" fw={600}>
                      {user.username}
                      {self ? " (you)" : ""}
                    </Text>
                    <Text size="xs">
                      {user.full_name ? `${user.full_name} · ` : ""}
                      {user.email}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {user.roles.map((role) => (
                        <Badge key={role} variant="outline" color="dark" size="sm">
                          {role}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      {userStatus(user).map((s) => (
                        <Badge key={s.label} variant="outline" color={s.color} size="sm">
                          {s.label}
                        </Badge>
                      ))}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{user.totp_enabled ? "on" : "off"}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDate(user.last_login_at, "never")}</Text>
                  </Table.Td>
                  <Table.Td>
                    <UserActions user={user} self={self} />
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      <Pager
        total={users.data?.total ?? 0}
        pageSize={ADMIN_PAGE_SIZE}
        page={search.page ?? 1}
        onChange={(next) => go({ ...search, page: next > 1 ? next : undefined })}
      />
    </Stack>
  );
}
