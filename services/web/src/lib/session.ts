import { useSyncExternalStore } from "react";
import { getSession, subscribeSession } from "@/lib/auth";

export function useSession() {
  return useSyncExternalStore(subscribeSession, getSession);
}
