import { defineConfig } from "tsup";

// The published build: ESM and CommonJS, each with its own declarations, from src/ only.
export default defineConfig({
  // mock-runner: the child process startMockServer spawns, found beside mock.js / mock.cjs.
  entry: { index: "src/index.ts", mock: "src/mock.ts", "mock-runner": "src/mock-runner.ts" },
  format: ["esm", "cjs"],
  dts: true,
  outDir: "dist",
  target: "node20",
  platform: "neutral",
  clean: true,
  sourcemap: true,
  // `import.meta.url` (mock.ts) must work in the CommonJS build too.
  shims: true,
  external: ["openapi-fetch"],
  treeshake: true,
});
