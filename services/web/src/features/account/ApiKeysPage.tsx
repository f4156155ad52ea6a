import { zodResolver } from "@hookform/resolvers/zod";
import {
  Button,
  Checkbox,
  Code,
  Group,
  NativeSelect,
  Radio,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { z } from "zod";
import { API_KEYS_PAGE_SIZE, useApiKeys, useCreateApiKey, useRevokeApiKey } from "@/api/account";
import { useMe } from "@/api/auth";
import type { ApiKeyCreated, ApiKeyOut } from "@/client/types.gen";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { Pager } from "@/components/Pager";
import { SecretOnce } from "@/components/SecretOnce";
import { Section } from "@/components/Section";
import { formatDate } from "@/lib/format";
import { applyServerErrors } from "@/lib/forms";
import {
  ADMIN_ONLY_FAMILIES,
  EXPIRY_OPTIONS,
  expiryFrom,
  FAMILY_LABELS,
  noScopes,
  SCOPE_FAMILIES,
  type ScopeChoice,
  type ScopeSelection,
  scopesFrom,
} from "@/lib/scopes";

const schema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, "Name the key after what uses it")
      .max(100, "At most 100 characters"),
    scopes: z.custom<ScopeSelection>(),
    expiry: z.enum(["30", "90", "365", "never", "date"]),
    date: z.string(),
  })
  .refine((v) => scopesFrom(v.scopes).length > 0, {
    path: ["scopes"],
    message: "Pick at least one scope: a key without scopes opens nothing",
  })
  .refine((v) => v.expiry !== "date" || expiryFrom("date", v.date) !== undefined, {
    path: ["date"],
    message: "Pick a date in the future",
  });
type KeyValues = z.infer<typeof schema>;

const LEVEL_HELP: Record<ScopeChoice, string> = {
  none: "No access",
  read: "Read",
  write: "Read and write",
  admin: "Admin (for administrators)",
};

function ScopePicker({
  value,
  onChange,
  isAdmin,
  error,
}: {
  value: ScopeSelection;
  onChange: (next: ScopeSelection) => void;
  isAdmin: boolean;
  error?: string;
}) {
  const families = SCOPE_FAMILIES.filter((f) => isAdmin || !ADMIN_ONLY_FAMILIES.includes(f));
  const levels: ScopeChoice[] = isAdmin
    ? ["none", "read", "write", "admin"]
    : ["none", "read", "write"];
  return (
    <Stack gap={6}>
      <Text size="sm" fw={500} id="scopes-label">
        Scopes
      </Text>
      <Text size="xs" c="dimmed">
        What the key may do, per area. Write includes read. A key never does more than your own
        account may.
      </Text>
      {families.map((family) => (
        <Radio.Group
          key={family}
          label={FAMILY_LABELS[family]}
          value={value[family]}
          onChange={(next) => onChange({ ...value, [family]: next as ScopeChoice })}
          size="xs"
        >
          <Group gap="md" mt={4}>
            {levels.map((level) => (
              <Radio key={level} value={level} label={LEVEL_HELP[level]} />
            ))}
          </Group>
        </Radio.Group>
      ))}
      {error && (
        <Text size="xs" c="#a51d1d" role="alert">
          {error}
        </Text>
      )}
    </Stack>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (key: ApiKeyCreated) => void }) {
  const create = useCreateApiKey();
  const me = useMe();
  const isAdmin = !!me.data?.roles.includes("admin");
  const form = useForm<KeyValues>({
    resolver: zodResolver(schema),
    defaultValues: { name: "", scopes: noScopes(), expiry: "90", date: "" },
  });
  const expiry = form.watch("expiry");
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const created = await create.mutateAsync({
        name: values.name.trim(),
        scopes: scopesFrom(values.scopes),
        expires_at: expiryFrom(values.expiry, values.date) ?? null,
      });
      form.reset();
      onCreated(created);
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["name", "scopes", "expires_at" as "date"], {
        expires_at: "date",
      });
    }
  });
  return (
    <Section id="new-key" title="Create an API key">
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm" maw={640}>
          <TextInput
            label="Name"
            description="Say where it is used, e.g. “CI pipeline”."
            required
            {...form.register("name")}
            error={form.formState.errors.name?.message}
          />
          <Controller
            control={form.control}
            name="scopes"
            render={({ field, fieldState }) => (
              <ScopePicker
                value={field.value}
                onChange={field.onChange}
                isAdmin={isAdmin}
                error={fieldState.error?.message}
              />
            )}
          />
          <Group align="flex-start">
            <NativeSelect
              label="Expires"
              data={EXPIRY_OPTIONS}
              w={240}
              {...form.register("expiry")}
            />
            {expiry === "date" && (
              <TextInput
                label="Expiry date"
                type="date"
                w={200}
                {...form.register("date")}
                error={form.formState.errors.date?.message}
              />
            )}
          </Group>
          <FormError error={create.error} fields={["name", "scopes", "expires_at"]} />
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create key
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

function keyStatus(key: ApiKeyOut, now = Date.now()): { label: string; color: string } {
  if (key.revoked_at) return { label: "revoked", color: "#a51d1d" };
  if (key.expires_at && Date.parse(key.expires_at) <= now)
    return { label: "expired", color: "#a51d1d" };
  return { label: "active", color: "#1e6a2e" };
}

function KeyList() {
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const [page, setPage] = useState(1);
  const keys = useApiKeys(includeRevoked, page);
  const revoke = useRevokeApiKey();
  return (
    <Section id="keys" title="Your API keys">
      <Stack gap="sm">
        <Text size="sm">
          Send a key in the <Code>X-API-Key</Code> header of any API request: the gateway checks it
          and its scopes.
        </Text>
        <Checkbox
          label="Show revoked keys"
          checked={includeRevoked}
          onChange={(e) => {
            setIncludeRevoked(e.currentTarget.checked);
            setPage(1);
          }}
        />
        {keys.isPending && <Skeleton h={120} />}
        {keys.isError && <ErrorView error={keys.error} onRetry={() => keys.refetch()} />}
        {keys.data && keys.data.items.length === 0 && <Text size="sm">No API keys yet.</Text>}
        {keys.data && keys.data.items.length > 0 && (
          <Table verticalSpacing="xs" striped captionSide="top">
            <Table.Caption>
              {keys.data.total} key{keys.data.total === 1 ? "" : "s"}
            </Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Scopes</Table.Th>
                <Table.Th scope="col">Created</Table.Th>
                <Table.Th scope="col">Expires</Table.Th>
                <Table.Th scope="col">Last used</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data.items.map((key) => {
                const status = keyStatus(key);
                return (
                  <Table.Tr key={key.id} data-testid="api-key-row">
                    <Table.Td>
                      <Text size="sm" fw={600}>
                        {key.name}
                      </Text>
                      <Code title="The start of the key">swe_{key.prefix}_…</Code>
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={2}>
                        {key.scopes.map((scope) => (
                          <Code key={scope}>{scope}</Code>
                        ))}
                      </Stack>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDate(key.created_at)}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDate(key.expires_at, "never")}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDate(key.last_used_at, "never")}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" fw={600} c={status.color}>
                        {status.label}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      {!key.revoked_at && (
                        <ConfirmButton
                          size="xs"
                          label="Revoke"
                          aria-label={`Revoke the key ${key.name}`}
                          title={`Revoke “${key.name}”?`}
                          message="Everything that uses this key stops working at once. This cannot be undone."
                          confirmLabel="Revoke key"
                          pending={revoke.isPending}
                          error={revoke.error}
                          onConfirm={() => revoke.mutateAsync(key.id)}
                        />
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        )}
        <Pager
          total={keys.data?.total ?? 0}
          pageSize={API_KEYS_PAGE_SIZE}
          page={page}
          onChange={setPage}
        />
      </Stack>
    </Section>
  );
}

export function ApiKeysPage() {
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  return (
    <Stack gap="md">
      {created && (
        <SecretOnce
          title={`API key “${created.name}” created`}
          secret={created.key}
          hint="Copy the key now and keep it somewhere safe (a secret store): it is shown only this once."
          copyLabel="Copy key"
          onDone={() => setCreated(null)}
        />
      )}
      <CreateKeyForm onCreated={setCreated} />
      <KeyList />
    </Stack>
  );
}
