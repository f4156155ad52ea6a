/**
 * The gateway's admin API (/api/v1/gateway/admin): services, their instances and breakers.
 * The gateway declares these answers as free-form objects; their shape is ServicePool.describe()
 * and Instance.describe() in services/gateway/src/swe_gateway/upstreams.py, typed here.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  deregisterApiV1GatewayAdminServicesNameInstancesDelete,
  forgetServiceApiV1GatewayAdminServicesNameDelete,
  putServiceApiV1GatewayAdminServicesNamePut,
  registerApiV1GatewayAdminServicesNameInstancesPost,
  resetApiV1GatewayAdminServicesNameBreakerResetPost,
  servicesApiV1GatewayAdminServicesGet,
} from "@/client/sdk.gen";

export type BreakerState = "closed" | "open" | "half_open";

export interface GatewayInstance {
  url: string;
  weight: number;
  healthy: boolean;
  ejected: boolean;
  ejected_for_seconds: number;
  ejections: number;
  consecutive_failures: number;
}

export interface GatewayService {
  name: string;
  breaker: { state: BreakerState; consecutive_failures: number; requests: number };
  instances: GatewayInstance[];
  /** "runtime": registered through this API; "file": defined by the routes file. */
  source: "runtime" | "file";
  /** A file service whose instances were changed at runtime (a reset returns the file's). */
  changed_at_runtime: boolean;
  /** The path prefixes routed to it. */
  routes: string[];
}

/** The gateway's own bound (settings.MAX_WEIGHT); it answers 422 beyond it. */
export const MAX_WEIGHT = 1000;

/** The gateway's own rules for a registered service (admin.py ServiceName, RoutePrefix). */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export const ROUTE_PREFIX = /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;
/** Paths the gateway answers itself (shared_registry.RESERVED_PREFIXES): no service takes them. */
export const RESERVED_PREFIXES = [
  "/api/v1/gateway",
  "/health",
  "/docs",
  "/redoc",
  "/openapi.json",
  "/asyncapi.yaml",
  "/info",
  "/metrics",
] as const;

export const gatewayKeys = {
  services: ["gateway", "services"] as const,
};

export function useGatewayServices() {
  return useQuery({
    queryKey: gatewayKeys.services,
    queryFn: async () => {
      const data = (await servicesApiV1GatewayAdminServicesGet({ throwOnError: true })).data;
      return (data as { items: GatewayService[] }).items;
    },
    // Health and breakers change on their own: keep the view current while it is open.
    refetchInterval: 5_000,
  });
}

function useRefresh() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: gatewayKeys.services });
}

/** Register an instance, or set a registered one's weight (0 drains it). */
export function useSetInstance(service: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (body: { url: string; weight?: number }) =>
      (
        await registerApiV1GatewayAdminServicesNameInstancesPost({
          path: { name: service },
          body,
          throwOnError: true,
        })
      ).data as unknown as GatewayInstance,
    onSettled: refresh,
  });
}

export function useRemoveInstance(service: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (url: string) => {
      await deregisterApiV1GatewayAdminServicesNameInstancesDelete({
        path: { name: service },
        query: { url },
        throwOnError: true,
      });
    },
    onSettled: refresh,
  });
}

export function useResetBreaker(service: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async () => {
      await resetApiV1GatewayAdminServicesNameBreakerResetPost({
        path: { name: service },
        throwOnError: true,
      });
    },
    onSettled: refresh,
  });
}

export interface ServiceRegistration {
  name: string;
  routes: { prefix: string }[];
  instances: { url: string; weight: number }[];
}

/** Register a service with its routes and instances; `created` is false when it replaced one. */
export function useRegisterService() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async ({ name, routes, instances }: ServiceRegistration) => {
      const answer = await putServiceApiV1GatewayAdminServicesNamePut({
        path: { name },
        body: { routes, instances },
        throwOnError: true,
      });
      return {
        created: answer.response.status === 201,
        service: answer.data as unknown as GatewayService,
      };
    },
    onSettled: refresh,
  });
}

/** Drop a service's runtime changes: a registered one leaves, a file one returns to the file's. */
export function useForgetService(service: string) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async () => {
      await forgetServiceApiV1GatewayAdminServicesNameDelete({
        path: { name: service },
        throwOnError: true,
      });
    },
    onSettled: refresh,
  });
}
