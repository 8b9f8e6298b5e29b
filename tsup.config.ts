import { cpSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "tsup";

const CORE = resolve("src/index.ts");

/**
 * Layers (src/bulk/, src/cli/ and the rest) import the core through its entry, "../index.js" (or "../../index.js"). In dist/ that import stays an
 * import of the core's own entry beside them (./index.js, ./index.cjs) instead of a second copy of the
 * core inlined: one copy, so a client made by the core and errors it throws are the same classes the
 * layer sees, and an app that bundles both bundles the core once.
 */
const coreAsSibling = {
  name: "core-as-sibling",
  setup(build: EsbuildPluginBuild) {
    const sibling = `./index${build.initialOptions.outExtension?.[".js"] ?? ".js"}`;
    build.onResolve({ filter: /^(\.\.\/)+index\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts")) === CORE ? { path: sibling, external: true } : undefined,
    );
  },
};

/** The part of esbuild's plugin API used above (esbuild comes with tsup, not as a dependency of ours). */
interface EsbuildPluginBuild {
  initialOptions: { outExtension?: Record<string, string> };
  onResolve(options: { filter: RegExp }, callback: (args: { path: string; resolveDir: string }) => { path: string; external: boolean } | undefined): void;
}

// The published build: ESM and CommonJS, each with its own declarations, from src/ only.
export default defineConfig({
  // mock-runner: the child process startMockServer spawns, found beside mock.js / mock.cjs.
  // bulk: merge-crm-engagements/bulk, a layer above the core (Node only: the journal is a file).
  // cli: the package's bin (dist/cli.js; esbuild keeps the #! line of src/cli/main.ts).
  // undici: merge-crm-engagements/undici, the undici transport (undici itself is an optional peer).
  // queue: merge-crm-engagements/queue, the BullMQ layer (bullmq and ioredis are optional peers).
  // webhooks: merge-crm-engagements/webhooks, receiving Merge's webhooks (WebCrypto only: edge-safe).
  // sync: merge-crm-engagements/sync, incremental reads of an account's engagements (web APIs only).
  // mirror: merge-crm-engagements/mirror, a copy in PGlite or Postgres (optional peers, loaded on use).
  entry: {
    index: "src/index.ts",
    mock: "src/mock/index.ts",
    "mock-runner": "src/mock/runner.ts",
    bulk: "src/bulk/index.ts",
    cli: "src/cli/main.ts",
    undici: "src/undici/index.ts",
    queue: "src/queue/index.ts",
    webhooks: "src/webhooks/index.ts",
    sync: "src/sync/index.ts",
    mirror: "src/mirror/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  outDir: "dist",
  target: "node20",
  platform: "neutral",
  clean: true,
  sourcemap: true,
  // `import.meta.url` (mock.ts) must work in the CommonJS build too.
  shims: true,
  external: ["openapi-fetch", "undici", "bullmq", "ioredis", "pg", "@electric-sql/pglite"],
  treeshake: true,
  esbuildPlugins: [coreAsSibling],
  // The queue's Redis scripts are read at run time beside the module that loads them (src/queue/lua/ in
  // the repository): dist/lua/ beside the bundles, which the package's "files" ("dist") carries.
  onSuccess: async () => {
    cpSync("src/queue/lua", "dist/lua", { recursive: true });
  },
});
