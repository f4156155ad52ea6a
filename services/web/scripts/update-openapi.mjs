// Refresh the committed snapshot of the gateway's merged OpenAPI document (openapi.json) from a
// running stack: SWE_API_URL (default http://127.0.0.1:8000, the `make up` gateway).
import { writeFile } from "node:fs/promises";

const base = (process.env.SWE_API_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
const response = await fetch(`${base}/openapi.json`);
if (!response.ok) {
  console.error(`GET ${base}/openapi.json answered ${response.status}; is the stack up (make up)?`);
  process.exit(1);
}
// Keys sorted: the gateway merges the services' documents, and the order in which their paths
// and methods arrive is not meaningful; a sorted snapshot changes only when the API does.
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sorted(value[key])]),
    );
  }
  return value;
}
const spec = sorted(await response.json());
await writeFile(new URL("../openapi.json", import.meta.url), `${JSON.stringify(spec, null, 2)}\n`);
console.log(`openapi.json updated from ${base}`);
