// Stops the Prism started by the global setup (by its pid) and waits for it to exit.
export default async function globalTeardown() {
  await globalThis.__MERGE_PRISM__?.close();
  globalThis.__MERGE_PRISM__ = undefined;
}
