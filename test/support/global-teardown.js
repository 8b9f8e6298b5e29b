// Stops the Prism started by the global setup and waits for it to exit. Fails the run if Prism had
// exited before, for any reason but this close() (which ends it with SIGTERM): the tests after its
// death ran against nothing. Judged by the exit itself, as the parent may not have noticed it yet.
export default async function globalTeardown() {
  const mock = globalThis.__MERGE_PRISM__;
  if (!mock) return;
  globalThis.__MERGE_PRISM__ = undefined;
  const alreadyGone = !mock.running;
  await mock.close();
  const { code, signal, output } = await mock.exited;
  if (alreadyGone || signal !== "SIGTERM") {
    throw new Error(`Prism died during the test run (code ${code}, signal ${signal}); its last lines:\n${output.join("\n")}`);
  }
}
