/** The whole console in jsdom on a memory history, its network answered by `respond`. */
import { MantineProvider } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { QueryClientProvider } from "@tanstack/react-query";
import { createMemoryHistory, RouterProvider } from "@tanstack/react-router";
import { render } from "@testing-library/react";
import { vi } from "vitest";
import { configureApiClient } from "@/lib/api-client";
import { resetSessionForTests } from "@/lib/auth";
import { createQueryClient } from "@/lib/query";
import { createAppRouter } from "@/router";
import { theme } from "@/theme";

/** `url`: the whole address, for the tests that read its query (`limit`, `offset`); a promise
 * holds the answer back (a request still in flight). */
export type Responder = (
  method: string,
  path: string,
  body: unknown,
  url: URL,
) => Response | Promise<Response> | undefined;

/** The app's WebSockets in a test: never connected; a test opens them and speaks for the
 * server (`open`, `send`, `drop`). */
export class FakeWebSocket {
  static opened: FakeWebSocket[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {
    FakeWebSocket.opened.push(this);
  }
  open(): void {
    this.onopen?.({});
  }
  send(message: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006): void {
    this.onclose?.({ code });
  }
  close(): void {
    this.closed = true;
  }
}

export function renderApp(path: string, respond: Responder) {
  resetSessionForTests();
  FakeWebSocket.opened = [];
  vi.stubGlobal("WebSocket", FakeWebSocket);
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
      const answer = respond(request.method, url.pathname, body, url);
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
      <Notifications />
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>,
  );
  return { ...view, router, calls };
}
