/**
 * Run by shared-signal.test.ts in a separate Node process, so that Node prints its warnings as it does
 * for users: CALLS creates share one AbortSignal against a local server that never answers, then the
 * signal aborts. Prints one JSON line with what settled how; Node's warnings go to stderr.
 */
import { getEventListeners } from "node:events";
import { createMergeCrmClient } from "../../src/index.js";
import { FakeMerge } from "../support/fake-merge.js";

const CALLS = Number(process.argv[2] ?? "1000");
const server = new FakeMerge();
await server.start();
server.reset(Array.from({ length: CALLS }, () => "hang" as const));
const merge = createMergeCrmClient({ apiKey: "sk_signal_key", accountToken: "acct_signal_token", baseUrl: server.url, timeoutMs: 0 });
const controller = new AbortController();
const calls = Array.from({ length: CALLS }, (_, i) =>
  merge.engagements.create({ subject: `call ${i}` }, { signal: controller.signal, idempotencyKey: `signal-${i}` }),
);
while (server.arrivals.length < CALLS) await new Promise((resolve) => setTimeout(resolve, 10));
const listenersInFlight = getEventListeners(controller.signal, "abort").length;
controller.abort();
const settled = await Promise.allSettled(calls);
const abortErrors = settled.filter((s) => s.status === "rejected" && (s.reason as { name?: unknown }).name === "AbortError").length;
await new Promise((resolve) => setTimeout(resolve, 50));
const arrivals = server.arrivals.length;
await server.stop();
process.stdout.write(
  `${JSON.stringify({ calls: CALLS, listenersInFlight, listenersAfter: getEventListeners(controller.signal, "abort").length, abortErrors, arrivals })}\n`,
);
