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
  globalSetup: "<rootDir>/test/support/global-setup.js",
  globalTeardown: "<rootDir>/test/support/global-teardown.js",
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
