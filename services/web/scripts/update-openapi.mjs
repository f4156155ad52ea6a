// Refresh the committed snapshot of the gateway's merged OpenAPI document (openapi.json) from a
// running stack: SWE_API_URL (default http://127.0.0.1:8000, the `make up` gateway).
import { writeFile } from "node:fs/promises";

const base = (process.env.SWE_API_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
const response = await fetch(`${base}/openapi.json`);
if (!response.ok) {
  console.error(`GET ${base}/openapi.json answered ${response.status}; is the stack up (make up)?`);
  process.exit(1);
}
const spec = await response.json();
await writeFile(new URL("../openapi.json", import.meta.url), `${JSON.stringify(spec, null, 2)}\n`);
console.log(`openapi.json updated from ${base}`);
