// Fails when src/client is not what `npm run generate-client` makes from openapi.json: it
// regenerates into a temporary directory and compares the two trees file by file.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@hey-api/openapi-ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const committed = join(root, "src/client");

async function files(dir) {
  const out = new Map();
  async function walk(current) {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.set(relative(dir, path), await readFile(path, "utf8"));
    }
  }
  await walk(dir).catch(() => undefined);
  return out;
}

const temp = await mkdtemp(join(tmpdir(), "swe-web-client-"));
try {
  process.chdir(root);
  const { default: base } = await import(join(root, "openapi-ts.config.js"));
  await createClient({
    ...base,
    output: { ...base.output, path: temp },
    logs: { level: "silent" },
  });
  const fresh = await files(temp);
  const current = await files(committed);
  const differ = [...new Set([...fresh.keys(), ...current.keys()])].filter(
    (name) => fresh.get(name) !== current.get(name),
  );
  if (differ.length > 0) {
    console.error(
      `src/client is stale (differs in: ${differ.join(", ")}); run \`npm run generate-client\``,
    );
    process.exit(1);
  }
  console.log("src/client matches openapi.json");
} finally {
  await rm(temp, { recursive: true, force: true });
}
