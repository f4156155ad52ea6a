import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { reportConnection } from "@/lib/connection";
import { errorKind, retryDelay, shouldRetry } from "@/lib/errors";

/** One query client: retries only what may succeed later (network, 503, 429), with backoff. */
export function createQueryClient(): QueryClient {
  const track = (error: unknown) => {
    const kind = errorKind(error);
    if (kind === "network" || kind === "unavailable") reportConnection("down", error);
  };
  return new QueryClient({
    queryCache: new QueryCache({
      onError: track,
      onSuccess: () => reportConnection("up"),
    }),
    mutationCache: new MutationCache({ onError: track, onSuccess: () => reportConnection("up") }),
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        retryDelay,
        staleTime: 15_000,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}
