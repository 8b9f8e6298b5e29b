import { availableParallelism } from "node:os";

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
  // Jest's 5 s default is too tight for the CPU-bound simulations on a shared 2-core machine: a run at
  // 3x the usual slowness timed out tests that take 1.5 s alone. Tests that wait on time set their own.
  testTimeout: 30_000,
  // Most of the long files wait (on paced timers, 1 s answers, child processes) rather than compute, so
  // twice as many workers as cores keep both cores busy; jest's default on 2 cores is one worker.
  // (Jest reads "200%" as 200 workers: it takes percentages only up to 100.)
  maxWorkers: 2 * availableParallelism(),
  testSequencer: "<rootDir>/test/support/test-sequencer.js",
  globalSetup: "<rootDir>/test/support/global-setup.js",
  globalTeardown: "<rootDir>/test/support/global-teardown.js",
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
