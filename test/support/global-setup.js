// Starts Prism once for the whole run, on a free port, serving generated/openapi.json with --errors.
// Plain JavaScript: jest loads global setup outside its module registry, so src/mock/index.ts is loaded
// through tsx, the same code users get from `merge-crm-engagements/mock`.
import { tsImport } from "tsx/esm/api";

export default async function globalSetup() {
  const { startMockServer } = await tsImport("../../src/mock/index.ts", import.meta.url);
  const mock = await startMockServer({ errors: true });
  globalThis.__MERGE_PRISM__ = mock;
  // If Prism dies mid-run, every later test fails with "connection refused": say why at once (the
  // global teardown fails the run with the same lines).
  void mock.exited.then(({ code, signal, output }) => {
    if (globalThis.__MERGE_PRISM__ !== mock) return;
    process.stderr.write(`\nPrism died during the test run (code ${code}, signal ${signal}); its last lines:\n${output.join("\n")}\n`);
  });
  // Test workers are started after this and inherit the environment.
  process.env.MERGE_PRISM_URL = mock.url;
}
