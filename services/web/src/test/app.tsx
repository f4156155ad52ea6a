/** The whole console in jsdom on a memory history, its network answered by `respond`. */
import { MantineProvider } from "@mantine/core";
import { QueryClientProvider } from "@tanstack/react-query";
import { createMemoryHistory, RouterProvider } from "@tanstack/react-router";
import { render } from "@testing-library/react";
import { vi } from "vitest";
import { configureApiClient } from "@/lib/api-client";
import { resetSessionForTests } from "@/lib/auth";
import { createQueryClient } from "@/lib/query";
import { createAppRouter } from "@/router";
import { theme } from "@/theme";

export type Responder = (method: string, path: string, body: unknown) => Response | undefined;

export function renderApp(path: string, respond: Responder) {
  resetSessionForTests();
  const calls: { method: string; path: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request =
        input instanceof Request
          ? input
          : new Request(new URL(String(input), location.origin), init);
      const text = await request.clone().text();
      const body = text ? JSON.parse(text) : undefined;
      const url = new URL(request.url);
      calls.push({ method: request.method, path: url.pathname + url.search, body });
      const answer = respond(request.method, url.pathname, body);
      return (
        answer ??
        new Response(JSON.stringify({ detail: "no such route in the test" }), { status: 404 })
      );
    }),
  );
  configureApiClient();
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({ queries: { retry: false } });
  const router = createAppRouter(queryClient, createMemoryHistory({ initialEntries: [path] }));
  const view = render(
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>,
  );
  return { ...view, router, calls };
}
