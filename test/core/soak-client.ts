/**
 * The client side of the soak, run in its own Node process with --expose-gc so that its heap
 * is the client's alone and its exit proves nothing was left behind: no timer, socket or listener may
 * keep it alive, and it never calls process.exit. Usage:
 *   node --expose-gc --import tsx test/core/soak-client.ts <base URL> <creates> <faulted creates> <in flight>
 * Creates go to <base URL>, faulted creates to <base URL>/faults, where the server injects resets,
 * 5xx, slow answers and hangs. Prints one JSON line: how every call settled, heap and RSS at the start,
 * after a warm-up of one call per slot and at the end, the listeners left on the shared signal and the
 * resources still active.
 */
import { getEventListeners } from "node:events";
import { createMergeCrmClient, MergeError, type ClientOptions } from "../../src/index.js";

const [url = "", creates = "0", faulted = "0", inFlight = "64"] = process.argv.slice(2);
const gc = globalThis.gc;
if (!gc) throw new Error("run with --expose-gc");

async function heap(): Promise<{ heapUsed: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

/** Runs `count` creates, `concurrency` at a time, all on one caller signal; tallies how each settled. */
async function load(options: Partial<ClientOptions> & { baseUrl: string }, count: number, concurrency: number, signal: AbortSignal) {
  const merge = createMergeCrmClient({ apiKey: "sk_soak_key", accountToken: "acct_soak_token", logger: {}, ...options });
  const outcomes: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      let outcome: string;
      try {
        const { model } = await merge.engagements.create(
          { subject: `soak ${i}`, direction: i % 2 ? "INBOUND" : "OUTBOUND", start_time: "2026-11-26T08:00:00Z" },
          { signal },
        );
        outcome = typeof model.id === "string" ? "created" : "created without id";
      } catch (error) {
        outcome = error instanceof MergeError ? error.name : `untyped ${String(error)}`;
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { calls: count, seconds: Math.round(seconds * 10) / 10, callsPerSecond: Math.round(count / seconds), outcomes };
}

const concurrency = Number(inFlight);
const controller = new AbortController();
const before = await heap();
// What the first calls load once (undici inside fetch, the validators' tables) shows here, not as growth.
await load({ baseUrl: url }, concurrency, concurrency, controller.signal);
const warm = await heap();
const clean = await load({ baseUrl: url }, Number(creates), concurrency, controller.signal);
const faults = await load(
  { baseUrl: `${url}/faults`, timeoutMs: 250, maxRetries: 2, initialRetryDelayMs: 10, maxRetryDelayMs: 100 },
  Number(faulted),
  concurrency,
  controller.signal,
);
const after = await heap();
process.stdout.write(
  `${JSON.stringify({
    clean,
    faults,
    before,
    warm,
    after,
    listenersLeft: getEventListeners(controller.signal, "abort").length,
    activeResources: process.getActiveResourcesInfo(),
  })}\n`,
);
