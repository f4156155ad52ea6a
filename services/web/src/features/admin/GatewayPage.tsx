import { zodResolver } from "@hookform/resolvers/zod";
import {
  Badge,
  Button,
  Code,
  Group,
  NumberInput,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { useState } from "react";
import { Controller, useFieldArray, useForm } from "react-hook-form";
import { z } from "zod";
import {
  type BreakerState,
  type GatewayInstance,
  type GatewayService,
  MAX_WEIGHT,
  RESERVED_PREFIXES,
  ROUTE_PREFIX,
  SERVICE_NAME,
  useForgetService,
  useGatewayServices,
  useRegisterService,
  useRemoveInstance,
  useResetBreaker,
  useSetInstance,
} from "@/api/gateway";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { Section } from "@/components/Section";
import { ApiError } from "@/lib/errors";
import { applyServerErrors } from "@/lib/forms";

const BREAKER: Record<BreakerState, { label: string; color: string; help: string }> = {
  closed: { label: "closed", color: "#1e6a2e", help: "requests flow normally" },
  open: { label: "open", color: "#a51d1d", help: "requests are refused at once (503)" },
  half_open: { label: "half-open", color: "#8a5300", help: "trial requests decide" },
};

/** An instance's health in words, worst first. */
export function instanceHealth(instance: GatewayInstance): { label: string; color: string } {
  if (instance.ejected) {
    return { label: `ejected for ${instance.ejected_for_seconds} s`, color: "#a51d1d" };
  }
  if (!instance.healthy) return { label: "not ready", color: "#a51d1d" };
  if (instance.weight === 0) return { label: "drained", color: "gray.8" };
  return { label: "healthy", color: "#1e6a2e" };
}

/** Whether draining this instance leaves the service no instance that takes requests. */
export function isLastServing(service: GatewayService, url: string): boolean {
  return !service.instances.some((i) => i.url !== url && i.weight > 0);
}

function WeightForm({ service, instance }: { service: string; instance: GatewayInstance }) {
  const set = useSetInstance(service);
  const [weight, setWeight] = useState<number | string>(instance.weight);
  const valid =
    typeof weight === "number" && Number.isInteger(weight) && weight >= 0 && weight <= MAX_WEIGHT;
  return (
    <Stack gap={4}>
      <Group gap={6} wrap="nowrap">
        <NumberInput
          aria-label={`Weight of ${instance.url}`}
          value={weight}
          onChange={setWeight}
          min={0}
          max={MAX_WEIGHT}
          allowDecimal={false}
          w={90}
          size="xs"
        />
        <Button
          size="xs"
          variant="default"
          disabled={!valid || weight === instance.weight}
          loading={set.isPending}
          onClick={() =>
            void set
              .mutateAsync({ url: instance.url, weight: Number(weight) })
              .catch(() => undefined)
          }
          aria-label={`Set the weight of ${instance.url}`}
        >
          Set
        </Button>
      </Group>
      {set.error ? <ErrorView error={set.error} /> : null}
    </Stack>
  );
}

function InstanceRow({
  service,
  instance,
}: {
  service: GatewayService;
  instance: GatewayInstance;
}) {
  const set = useSetInstance(service.name);
  const remove = useRemoveInstance(service.name);
  const health = instanceHealth(instance);
  const last = isLastServing(service, instance.url);
  return (
    <Table.Tr data-testid="instance-row" data-url={instance.url}>
      <Table.Td>
        <Code>{instance.url}</Code>
      </Table.Td>
      <Table.Td>
        <Badge variant="outline" color={health.color} size="sm">
          {health.label}
        </Badge>
      </Table.Td>
      <Table.Td>
        <WeightForm key={instance.weight} service={service.name} instance={instance} />
      </Table.Td>
      <Table.Td>
        <Text size="sm">
          {instance.consecutive_failures} in a row · {instance.ejections} ejection
          {instance.ejections === 1 ? "" : "s"}
        </Text>
      </Table.Td>
      <Table.Td>
        <Group gap={6} wrap="nowrap">
          {instance.weight > 0 && (
            <ConfirmButton
              size="xs"
              label="Drain"
              aria-label={`Drain ${instance.url}`}
              title={`Drain ${instance.url}?`}
              message={
                last
                  ? `It is the last instance of ${service.name} that takes requests: draining it leaves ${service.name} unreachable.`
                  : "Its weight becomes 0: it takes no new requests; those in flight finish."
              }
              confirmLabel="Drain instance"
              pending={set.isPending}
              error={set.error}
              onConfirm={() => set.mutateAsync({ url: instance.url, weight: 0 })}
            />
          )}
          <ConfirmButton
            size="xs"
            label="Remove"
            aria-label={`Remove ${instance.url}`}
            title={`Remove ${instance.url}?`}
            message={
              last
                ? `It is the last instance of ${service.name} that takes requests: removing it leaves ${service.name} unreachable.`
                : "The gateway forgets the instance until it is added again or the gateway restarts."
            }
            confirmLabel="Remove instance"
            pending={remove.isPending}
            error={remove.error}
            onConfirm={() => remove.mutateAsync(instance.url)}
          />
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

const instanceUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^\s/]+/, "An http(s) address, e.g. http://10.0.0.5:8001")
  .max(300, "At most 300 characters");
const instanceWeight = z
  .number({ invalid_type_error: "A whole number" })
  .int("A whole number")
  .min(0, "0 or more")
  .max(MAX_WEIGHT, `At most ${MAX_WEIGHT}`);

const addSchema = z.object({ url: instanceUrl, weight: instanceWeight });
type AddValues = z.infer<typeof addSchema>;

function AddInstanceForm({ service }: { service: string }) {
  const set = useSetInstance(service);
  const form = useForm<AddValues>({
    resolver: zodResolver(addSchema),
    defaultValues: { url: "", weight: 1 },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await set.mutateAsync(values);
      form.reset();
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["url", "weight"]);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate aria-label={`Add an instance of ${service}`}>
      <Stack gap="xs">
        <Group align="flex-start" wrap="wrap">
          <TextInput
            label={`New instance of ${service}`}
            placeholder="http://127.0.0.1:8011"
            w={320}
            {...form.register("url")}
            error={form.formState.errors.url?.message}
          />
          <Controller
            control={form.control}
            name="weight"
            render={({ field, fieldState }) => (
              <NumberInput
                label="Weight"
                min={0}
                max={MAX_WEIGHT}
                allowDecimal={false}
                w={110}
                value={field.value}
                onChange={(v) => field.onChange(typeof v === "number" ? v : Number.NaN)}
                onBlur={field.onBlur}
                error={fieldState.error?.message}
              />
            )}
          />
          <Button type="submit" mt={25} loading={set.isPending}>
            Add instance
          </Button>
        </Group>
        <FormError error={set.error} fields={["url", "weight"]} />
      </Stack>
    </form>
  );
}

/** Remove a registered service, or return a file service to the file's instances. */
function ForgetServiceButton({ service }: { service: GatewayService }) {
  const forget = useForgetService(service.name);
  if (service.source === "runtime") {
    const routes =
      service.routes.length > 0 ? ` and its routes (${service.routes.join(", ")})` : "";
    return (
      <ConfirmButton
        size="xs"
        label="Remove service"
        aria-label={`Remove service ${service.name}`}
        title={`Remove ${service.name}?`}
        message={`Every gateway instance forgets ${service.name}${routes} within seconds: its requests are no longer routed.`}
        confirmLabel="Remove service"
        pending={forget.isPending}
        error={forget.error}
        onConfirm={() => forget.mutateAsync()}
      />
    );
  }
  // A file service nobody changed is its file configuration already: nothing to reset.
  if (!service.changed_at_runtime) return null;
  return (
    <ConfirmButton
      size="xs"
      label="Reset to file configuration"
      aria-label={`Reset to file configuration: ${service.name}`}
      title={`Reset ${service.name} to its file configuration?`}
      message="The instances and weights changed here are dropped: the service returns to the instances its configuration lists."
      confirmLabel="Reset to file configuration"
      pending={forget.isPending}
      error={forget.error}
      onConfirm={() => forget.mutateAsync()}
    />
  );
}

function ServiceCard({ service }: { service: GatewayService }) {
  const reset = useResetBreaker(service.name);
  const breaker = BREAKER[service.breaker.state] ?? BREAKER.closed;
  return (
    <Section id={`service-${service.name}`} title={service.name}>
      <Stack gap="sm">
        <Group gap="xs" wrap="wrap">
          <Badge variant="outline" color="gray.8">
            {service.source === "runtime"
              ? "registered here"
              : service.changed_at_runtime
                ? "routes file, changed here"
                : "routes file"}
          </Badge>
          <Text size="sm">
            Routes:{" "}
            {service.routes.length === 0
              ? "none"
              : service.routes.map((prefix, index) => (
                  <span key={prefix}>
                    {index > 0 && ", "}
                    {/* The routes file's catch-all is the empty prefix: every other path. */}
                    <Code>{prefix || "/"}</Code>
                  </span>
                ))}
          </Text>
          <ForgetServiceButton service={service} />
        </Group>
        <Group gap="xs" wrap="wrap">
          <Text size="sm">Circuit breaker:</Text>
          <Badge variant="outline" color={breaker.color}>
            {breaker.label}
          </Badge>
          <Text size="sm">
            {breaker.help} · {service.breaker.consecutive_failures} failure
            {service.breaker.consecutive_failures === 1 ? "" : "s"} in a row ·{" "}
            {service.breaker.requests} request{service.breaker.requests === 1 ? "" : "s"} counted
          </Text>
          <Button
            size="xs"
            variant="default"
            loading={reset.isPending}
            onClick={() => void reset.mutateAsync().catch(() => undefined)}
            aria-label={`Reset breaker of ${service.name}`}
          >
            Reset breaker
          </Button>
        </Group>
        {reset.error ? <ErrorView error={reset.error} /> : null}
        {service.instances.length === 0 ? (
          <Text size="sm">No instance: every request to {service.name} fails with 503.</Text>
        ) : (
          <Table verticalSpacing={4} striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Instance</Table.Th>
                <Table.Th scope="col">Health</Table.Th>
                <Table.Th scope="col">Weight</Table.Th>
                <Table.Th scope="col">Failures</Table.Th>
                <Table.Th scope="col">Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {service.instances.map((instance) => (
                <InstanceRow key={instance.url} service={service} instance={instance} />
              ))}
            </Table.Tbody>
          </Table>
        )}
        <AddInstanceForm service={service.name} />
      </Stack>
    </Section>
  );
}

interface RegisterValues {
  name: string;
  routes: { prefix: string }[];
  instances: { url: string; weight: number }[];
}

/** The most rows the gateway takes in one registration (admin.py ServiceIn). */
const MAX_ROUTES = 20;
const MAX_INSTANCES = 100;

/** Same URL for the gateway: it keys instances without a trailing slash. */
const urlKey = (url: string) => url.trim().replace(/\/+$/, "");

/** The gateway's rules (admin.py ServiceIn, shared_registry._check_prefix), checked before asking. */
export const registerSchema = z
  .object({
    name: z
      .string()
      .trim()
      .regex(
        SERVICE_NAME,
        "Lower-case letters, digits and dashes, starting with a letter; at most 40",
      ),
    routes: z
      .array(
        z.object({
          prefix: z
            .string()
            .trim()
            .max(200, "At most 200 characters")
            .regex(ROUTE_PREFIX, "A path of one or more segments, e.g. /api/v1/reports")
            .refine(
              (prefix) =>
                !RESERVED_PREFIXES.some((r) => prefix === r || prefix.startsWith(`${r}/`)),
              "The gateway answers this path itself",
            ),
        }),
      )
      .min(1, "At least one route prefix")
      .max(MAX_ROUTES, `At most ${MAX_ROUTES} route prefixes`),
    instances: z
      .array(z.object({ url: instanceUrl, weight: instanceWeight }))
      .min(1, "At least one instance")
      .max(MAX_INSTANCES, `At most ${MAX_INSTANCES} instances`),
  })
  .superRefine((values, ctx) => {
    const seen = new Set<string>();
    values.routes.forEach((route, index) => {
      if (seen.has(route.prefix)) {
        ctx.addIssue({
          code: "custom",
          path: ["routes", index, "prefix"],
          message: "Listed twice",
        });
      }
      seen.add(route.prefix);
    });
    const urls = new Set<string>();
    values.instances.forEach((instance, index) => {
      const key = urlKey(instance.url);
      if (urls.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["instances", index, "url"],
          message: "Listed twice",
        });
      }
      urls.add(key);
    });
  });

/**
 * Under a list of rows: the list's own error (too few or too many rows; a row's error stands at
 * its field) and the button adding a row, off once the list is at the gateway's limit.
 */
function RowsFooter({
  error,
  count,
  max,
  onAdd,
  children,
}: {
  error?: { message?: string; root?: { message?: string } };
  count: number;
  max: number;
  onAdd: () => void;
  children: string;
}) {
  const message = error?.message || error?.root?.message;
  return (
    <>
      {message ? (
        <Text size="sm" c="red.8">
          {message}
        </Text>
      ) : null}
      <Group>
        <Button size="xs" variant="default" disabled={count >= max} onClick={onAdd}>
          {children}
        </Button>
      </Group>
    </>
  );
}

const EMPTY_REGISTRATION: RegisterValues = {
  name: "",
  routes: [{ prefix: "" }],
  instances: [{ url: "", weight: 1 }],
};

function RegisterServiceForm() {
  const register = useRegisterService();
  const [done, setDone] = useState<{ name: string; created: boolean } | null>(null);
  const form = useForm<RegisterValues>({
    resolver: zodResolver(registerSchema),
    defaultValues: EMPTY_REGISTRATION,
  });
  const routes = useFieldArray({ control: form.control, name: "routes" });
  const instances = useFieldArray({ control: form.control, name: "instances" });
  const errors = form.formState.errors;
  const fields = [
    "name",
    ...routes.fields.map((_, i) => `routes.${i}.prefix` as const),
    ...instances.fields.flatMap((_, i) => [`instances.${i}.url`, `instances.${i}.weight`] as const),
  ] as const;

  const onSubmit = form.handleSubmit(async (values) => {
    setDone(null);
    try {
      const answer = await register.mutateAsync(values);
      setDone({ name: values.name, created: answer.created });
      form.reset(EMPTY_REGISTRATION);
    } catch (caught) {
      applyServerErrors(caught, form.setError, fields);
      if (!(caught instanceof ApiError)) return;
      // The name travels in the path: its 422 names `path.name`, which has no body field.
      if (caught.problem.errors?.some((e) => e?.field === "path.name")) {
        form.setError("name", { type: "server", message: "Not a service name the gateway takes" });
      }
      // A 409 names the prefix another service owns: mark that row too.
      const taken = caught.status === 409 ? caught.problem.prefix : undefined;
      const index = values.routes.findIndex((r) => r.prefix === taken);
      if (index >= 0) {
        form.setError(`routes.${index}.prefix`, {
          type: "server",
          message: caught.problem.detail ?? "Routed to another service",
        });
      }
    }
  });

  return (
    <Section id="register-service" title="Register a service">
      <form onSubmit={onSubmit} noValidate aria-label="Register a service">
        <Stack gap="sm">
          <Text size="sm">
            Every gateway instance routes the prefixes to the instances within seconds. Registering
            a name already registered here replaces its routes and instances.
          </Text>
          <TextInput
            label="Service name"
            description="Lower-case letters, digits and dashes, e.g. reports"
            w={320}
            {...form.register("name")}
            error={errors.name?.message}
          />
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <Text component="legend" size="sm" fw={500} mb={4}>
              Route prefixes
            </Text>
            <Stack gap="xs">
              {routes.fields.map((row, index) => (
                <Group key={row.id} align="flex-start" gap="xs" wrap="nowrap">
                  <TextInput
                    label={`Route prefix ${index + 1}`}
                    placeholder="/api/v1/reports"
                    w={320}
                    {...form.register(`routes.${index}.prefix`)}
                    error={errors.routes?.[index]?.prefix?.message}
                  />
                  <Button
                    mt={25}
                    variant="default"
                    disabled={routes.fields.length === 1}
                    onClick={() => routes.remove(index)}
                    aria-label={`Remove route prefix ${index + 1}`}
                  >
                    Remove
                  </Button>
                </Group>
              ))}
              <RowsFooter
                error={errors.routes}
                count={routes.fields.length}
                max={MAX_ROUTES}
                onAdd={() => routes.append({ prefix: "" })}
              >
                Add a route prefix
              </RowsFooter>
            </Stack>
          </fieldset>
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <Text component="legend" size="sm" fw={500} mb={4}>
              Instances
            </Text>
            <Stack gap="xs">
              {instances.fields.map((row, index) => (
                <Group key={row.id} align="flex-start" gap="xs" wrap="nowrap">
                  <TextInput
                    label={`Instance ${index + 1} URL`}
                    placeholder="http://127.0.0.1:8011"
                    w={320}
                    {...form.register(`instances.${index}.url`)}
                    error={errors.instances?.[index]?.url?.message}
                  />
                  <Controller
                    control={form.control}
                    name={`instances.${index}.weight`}
                    render={({ field, fieldState }) => (
                      <NumberInput
                        label={`Instance ${index + 1} weight`}
                        min={0}
                        max={MAX_WEIGHT}
                        allowDecimal={false}
                        w={150}
                        value={field.value}
                        onChange={(v) => field.onChange(typeof v === "number" ? v : Number.NaN)}
                        onBlur={field.onBlur}
                        error={fieldState.error?.message}
                      />
                    )}
                  />
                  <Button
                    mt={25}
                    variant="default"
                    disabled={instances.fields.length === 1}
                    onClick={() => instances.remove(index)}
                    aria-label={`Remove instance ${index + 1}`}
                  >
                    Remove
                  </Button>
                </Group>
              ))}
              <RowsFooter
                error={errors.instances}
                count={instances.fields.length}
                max={MAX_INSTANCES}
                onAdd={() => instances.append({ url: "", weight: 1 })}
              >
                Add an instance
              </RowsFooter>
            </Stack>
          </fieldset>
          <FormError error={register.error} fields={fields} />
          {done && !register.error && (
            <Text size="sm" role="status">
              {done.created
                ? `Registered ${done.name}: its card is above.`
                : `Replaced the routes and instances of ${done.name}.`}
            </Text>
          )}
          <Group>
            <Button type="submit" loading={register.isPending}>
              Register service
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

export function GatewayPage() {
  const services = useGatewayServices();
  return (
    <Stack gap="md">
      <Text size="sm">
        The services the gateway routes to, their instances and circuit breakers, refreshed every
        few seconds. Changes apply to the gateway process that answers and last until it restarts;
        the permanent list is its configuration: <Code>routes.toml</Code> and{" "}
        <Code>GATEWAY_UPSTREAMS</Code>.
      </Text>
      {services.isPending && <Skeleton h={240} />}
      {services.isError && <ErrorView error={services.error} onRetry={() => services.refetch()} />}
      {services.data?.map((service) => (
        <ServiceCard key={service.name} service={service} />
      ))}
      {services.data && <RegisterServiceForm />}
    </Stack>
  );
}
