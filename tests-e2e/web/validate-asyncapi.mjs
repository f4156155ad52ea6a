// Validates an AsyncAPI document with the AsyncAPI project's own parser (@asyncapi/parser):
// `node validate-asyncapi.mjs docs/asyncapi.yaml`. Prints every diagnostic as JSON lines and
// exits 1 when any is an error (severity 0), 2 when the file cannot be read.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
let source;
try {
  source = await readFile(path, "utf8");
} catch (error) {
  console.error(`cannot read ${path}: ${error.message}`);
  process.exit(2);
}
const { document, diagnostics } = await new Parser().parse(source);
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
const errors = diagnostics.filter((d) => d.severity === 0);
if (!document || errors.length > 0) {
  console.error(`${errors.length} error(s) in ${path}`);
  process.exit(1);
}
console.log(
  JSON.stringify({
    valid: true,
    version: document.version(),
    channels: document.channels().length,
    messages: document.allMessages().length,
  }),
);
