/** Wires the generated client (src/client) to the session: every call goes through authFetch. */
import { client } from "@/client/client.gen";
import { authFetch } from "@/lib/auth";

export function configureApiClient(): void {
  // Same origin: the gateway serves both the app and the API.
  client.setConfig({ baseUrl: globalThis.location?.origin ?? "", fetch: authFetch });
}
