import { fileURLToPath, URL } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The dev server proxies the API to a running stack (make up: the gateway on :8000), so the
// app talks to its own origin exactly as it does when the gateway serves it.
const apiTarget = process.env.SWE_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: {
    proxy: {
      "/api": { target: apiTarget, changeOrigin: false },
      "/health": { target: apiTarget, changeOrigin: false },
    },
  },
  build: {
    // The production CSP allows only script files from our origin: no inline polyfill.
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    // Whole-app tests render the router and Mantine in jsdom: seconds on a busy shared machine.
    testTimeout: 30_000,
  },
});
