/**
 * Many calls on one caller AbortSignal: a server passes its request's signal to every Merge
 * call, a bulk import passes one Ctrl-C signal to all its rows. The client must add one listener to
 * that signal, not one per call, attempt or retry wait; leave none once the calls settle; and on abort
 * reject every pending call with the standard AbortError and send nothing more. Against a real local
 * HTTP server.
 */
import { execFile } from "node:child_process";
import { getEventListeners } from "node:events";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createMergeCrmClient, type ClientOptions } from "../../src/index.js";
import { FakeMerge, type Behaviour } from "../support/fake-merge.js";

const server = new FakeMerge();
beforeAll(() => server.start());
afterAll(() => server.stop());

function client(options: Partial<ClientOptions> = {}) {
  return createMergeCrmClient({ apiKey: "sk_signal_key", accountToken: "acct_signal_token", baseUrl: server.url, ...options });
}

const listeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// By name: the DOMException comes from Node's realm, not jest's, so `instanceof Error` is false.
function isAbortError(reason: unknown): boolean {
  return typeof reason === "object" && reason !== null && "name" in reason && reason.name === "AbortError";
}

test("1,000 concurrent creates on one signal: 1 listener in flight, abort rejects all with AbortError, nothing more sent, 0 listeners left", async () => {
  server.reset(times<Behaviour>(1_000, "hang"));
  const merge = client({ timeoutMs: 0 });
  const controller = new AbortController();
  const calls = Array.from({ length: 1_000 }, (_, i) =>
    merge.engagements.create({ subject: `call ${i}` }, { signal: controller.signal, idempotencyKey: `hang-${i}` }),
  );
  await until(() => server.arrivals.length === 1_000, "1,000 requests to arrive");
  expect(listeners(controller.signal)).toBe(1);

  controller.abort();
  const settled = await Promise.allSettled(calls);
  expect(settled.filter((s) => s.status === "rejected" && isAbortError(s.reason))).toHaveLength(1_000);
  expect(listeners(controller.signal)).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(server.arrivals).toHaveLength(1_000);
}, 60_000);

test("1,000 calls on one signal that all succeed leave no listener on it", async () => {
  server.reset([]);
  const merge = client();
  const controller = new AbortController();
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, listeners(controller.signal))), 1);
  const results = await Promise.all(
    Array.from({ length: 1_000 }, (_, i) => merge.engagements.create({ subject: `ok ${i}` }, { signal: controller.signal })),
  );
  clearInterval(sample);
  expect(results.every((r) => typeof r.model.id === "string")).toBe(true);
  expect(peak).toBe(1);
  expect(listeners(controller.signal)).toBe(0);
}, 60_000);

test("calls waiting to retry share the one listener; abort ends their waits and no retry is sent", async () => {
  server.reset(times<Behaviour>(50, { status: 503, retryAfter: "20" }));
  const merge = client({ maxRetryDelayMs: 30_000 });
  const controller = new AbortController();
  const calls = Array.from({ length: 50 }, () => merge.engagements.list({}, { signal: controller.signal }));
  await until(() => server.arrivals.length === 50, "50 first attempts");
  await new Promise((resolve) => setTimeout(resolve, 50)); // all 50 are now in their 20 s wait
  expect(listeners(controller.signal)).toBe(1);

  const aborted = Date.now();
  controller.abort();
  const settled = await Promise.allSettled(calls);
  expect(Date.now() - aborted).toBeLessThan(1_000);
  expect(settled.every((s) => s.status === "rejected" && isAbortError(s.reason))).toBe(true);
  expect(listeners(controller.signal)).toBe(0);
  expect(server.arrivals).toHaveLength(50);
}, 30_000);

test("a signal aborted before the call: rejected with AbortError, nothing sent, no listener added", async () => {
  server.reset([]);
  const controller = new AbortController();
  controller.abort();
  await expect(client().engagements.create({ subject: "late" }, { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  expect(listeners(controller.signal)).toBe(0);
  expect(server.arrivals).toHaveLength(0);
});

test("a caller's own abort reason is what the calls reject with", async () => {
  server.reset(times<Behaviour>(3, "hang"));
  const controller = new AbortController();
  const merge = client({ timeoutMs: 0 });
  const calls = [1, 2, 3].map(() => merge.engagements.list({}, { signal: controller.signal }));
  await until(() => server.arrivals.length === 3, "3 requests");
  const reason = new Error("shutting down");
  controller.abort(reason);
  const settled = await Promise.allSettled(calls);
  expect(settled.map((s) => (s.status === "rejected" ? s.reason : undefined))).toEqual([reason, reason, reason]);
});

test("in a plain Node process, 1,000 calls on one signal print no MaxListenersExceededWarning", async () => {
  const script = fileURLToPath(new URL("./shared-signal-run.ts", import.meta.url));
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, "1000"], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    timeout: 60_000,
  });
  expect(stderr).not.toMatch(/MaxListenersExceededWarning|memory leak/);
  expect(JSON.parse(stdout)).toEqual({ calls: 1_000, listenersInFlight: 1, listenersAfter: 0, abortErrors: 1_000, arrivals: 1_000 });
}, 90_000);
