// The typed client is generated from the committed snapshot of the gateway's merged spec
// (openapi.json); `npm run update-openapi` refreshes the snapshot from a running stack.
// Plain JS so that scripts/check-client.mjs can import the very same settings.
/** @type {import("@hey-api/openapi-ts").UserConfig} */
export default {
  input: "./openapi.json",
  output: { path: "./src/client", format: false, lint: false },
  plugins: ["@hey-api/typescript", "@hey-api/sdk", "@hey-api/client-fetch"],
};
