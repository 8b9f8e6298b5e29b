import { availableParallelism } from "node:os";

/**
 * `npm run test:quick` (JEST_QUICK=1), for the inner loop: the unit and contract tests, which need at
 * most the Prism of the global setup (30 s on the 2-core machine). Left to `npm test`: what builds or
 * packs the package, runs Redis, Chromium or the CLI as a process, paces on real time, soaks, kills a
 * process (the crash tests, a second Prism) or serves faults on real time.
 */
const QUICK = {
  testMatch: [
    "<rootDir>/test/{core,delivery,webhooks,mock,undici,sync}/**/*.test.ts",
    "<rootDir>/test/cli/{args,input,progress,queue-args}.test.ts",
    "<rootDir>/test/bulk/journal.test.ts",
    "<rootDir>/test/package/{layout,core-bundle,webhooks-bundle}.test.ts",
  ],
  testPathIgnorePatterns: [
    "/node_modules/",
    "/test/core/(soak|shared-signal|faults)\\.test\\.ts$",
    "/test/mock/mock-server\\.test\\.ts$",
    "/test/webhooks/dedupe\\.test\\.ts$",
    "-crash\\.test\\.ts$",
  ],
};

/**
 * Jest runs the TypeScript tests as native ES modules (ts-jest transpiles only; `npm run typecheck`
 * type-checks). Prism is started once per run by the global setup, for the contract tests.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: { isolatedModules: true, noEmit: false } }],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  ...(process.env["JEST_QUICK"] === "1" ? QUICK : {}),
  // Jest's 5 s default is too tight for the CPU-bound simulations on a shared 2-core machine: a run at
  // 3x the usual slowness timed out tests that take 1.5 s alone. Tests that wait on time set their own.
  testTimeout: 30_000,
  // Jest's default on 2 cores is one worker, and the cores then sit half idle while the long files wait
  // on paced timers, 1 s answers and child processes. One worker more than the cores keeps them busy:
  // on 2 cores the whole run took 200 s with 3 workers and with 4 (and 450 s with 1), and 3 leave the
  // files that hold a rate to a bound fewer neighbours.
  maxWorkers: availableParallelism() + 1,
  testSequencer: "<rootDir>/test/support/test-sequencer.js",
  globalSetup: "<rootDir>/test/support/global-setup.js",
  globalTeardown: "<rootDir>/test/support/global-teardown.js",
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
