/**
 * Whether the platform is reachable, for the banner: a network error or a 503 marks it down,
 * the next success marks it up again; the browser's offline event counts too.
 */
import { useSyncExternalStore } from "react";
import { describeError } from "@/lib/errors";

export interface ConnectionState {
  up: boolean;
  message: string | null;
  requestId: string | null;
}

let state: ConnectionState = { up: true, message: null, requestId: null };
const listeners = new Set<() => void>();

function set(next: ConnectionState): void {
  if (next.up === state.up && next.message === state.message) return;
  state = next;
  for (const listener of listeners) listener();
}

export function reportConnection(status: "up" | "down", error?: unknown): void {
  if (status === "up") {
    set({ up: true, message: null, requestId: null });
    return;
  }
  const described = describeError(error);
  set({ up: false, message: described.message, requestId: described.requestId });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const offline = () =>
    reportConnection(
      "down",
      new Error("You are offline. We will retry when the connection is back."),
    );
  window.addEventListener("offline", offline);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("offline", offline);
  };
}

export function useConnection(): ConnectionState {
  return useSyncExternalStore(subscribe, () => state);
}
