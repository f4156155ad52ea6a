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
import { Controller, useForm } from "react-hook-form";
import { z } from "zod";
import {
  type BreakerState,
  type GatewayInstance,
  type GatewayService,
  MAX_WEIGHT,
  useGatewayServices,
  useRemoveInstance,
  useResetBreaker,
  useSetInstance,
} from "@/api/gateway";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { Section } from "@/components/Section";
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

const addSchema = z.object({
  url: z
    .string()
    .trim()
    .regex(/^https?:\/\/[^\s/]+/, "An http(s) address, e.g. http://10.0.0.5:8001")
    .max(300, "At most 300 characters"),
  weight: z.number().int().min(0, "0 or more").max(MAX_WEIGHT, `At most ${MAX_WEIGHT}`),
});
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

function ServiceCard({ service }: { service: GatewayService }) {
  const reset = useResetBreaker(service.name);
  const breaker = BREAKER[service.breaker.state] ?? BREAKER.closed;
  return (
    <Section id={`service-${service.name}`} title={service.name}>
      <Stack gap="sm">
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
    </Stack>
  );
}
