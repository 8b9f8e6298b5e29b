/**
 * Section 1, per-call cost: run in a fresh Node process by run.mjs (`node lib/http.mjs <out.json>`).
 * Forks the server (lib/server.mjs), checks that every client gets the same 201, captures each
 * client's wire request, then measures, interleaved in rounds with the order rotated every round:
 *  - sequential latency: batches of BATCH calls per client per round, each call timed alone;
 *  - paired latency of the account-validation target: `ours` and `ours-account` alternating call by
 *    call (PAIRS pairs, which goes first swapped every pair), so that both see the same moment of a
 *    shared, noisy machine;
 *  - throughput: CONCURRENCY calls in flight until a fixed count is done, per client per round.
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CLIENT_IDS, makeClients } from "./clients.mjs";
import { median, p99 } from "./stats.mjs";

const quick = process.env.BENCH_QUICK === "1";
export const SETTINGS = {
  warmupRounds: quick ? 2 : 10, // × BATCH calls per client, not measured
  rounds: quick ? 6 : 60, // × BATCH measured calls per client
  batch: 50,
  concurrency: 64,
  throughputRounds: quick ? 2 : 6,
  throughputCalls: quick ? 640 : 1000, // per client per round
  pairs: quick ? 500 : 5000,
};

const out = process.argv[2];
const server = fork(fileURLToPath(new URL("./server.mjs", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const messages = [];
let waiting;
server.on("message", (m) => {
  if (waiting) {
    const w = waiting;
    waiting = undefined;
    w(m);
  } else messages.push(m);
});
const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve) => (waiting = resolve)));

const { port } = await next();
const origin = `http://127.0.0.1:${port}`;
const { calls, strict, close } = makeClients(origin);

// 1. Everyone gets the same, spec-valid answer.
const checked = await strict.engagements.create((await import("./fixtures.mjs")).MODEL);
for (const id of CLIENT_IDS) {
  const result = await calls[id]();
  const modelId = result?.model?.id;
  if (modelId !== checked.model.id) throw new Error(`${id}: unexpected answer ${JSON.stringify(result).slice(0, 200)}`);
}

// 2. What each client puts on the wire.
const wire = {};
for (const id of CLIENT_IDS) {
  server.send({ capture: true });
  await new Promise((resolve) => setTimeout(resolve, 20)); // the flag is set before the request arrives
  await calls[id]();
  const { captured } = await next();
  wire[id] = captured;
}

const rotate = (round) => CLIENT_IDS.map((_, i) => CLIENT_IDS[(i + round) % CLIENT_IDS.length]);
const now = () => process.hrtime.bigint();

// 3. Warm-up (JIT, connections), interleaved like the measurement.
for (let round = 0; round < SETTINGS.warmupRounds; round++) {
  for (const id of rotate(round)) for (let i = 0; i < SETTINGS.batch; i++) await calls[id]();
}

// 4. Sequential latency.
const latencies = Object.fromEntries(CLIENT_IDS.map((id) => [id, []]));
const startedSeq = Date.now();
for (let round = 0; round < SETTINGS.rounds; round++) {
  for (const id of rotate(round)) {
    const call = calls[id];
    const list = latencies[id];
    for (let i = 0; i < SETTINGS.batch; i++) {
      const t0 = now();
      await call();
      list.push(Number(now() - t0) / 1e3); // µs
    }
  }
}
const sequentialSeconds = (Date.now() - startedSeq) / 1000;

// 4b. Paired: account validation's cost, one call of each in turn.
const paired = { ours: [], "ours-account": [] };
for (let i = 0; i < SETTINGS.pairs; i++) {
  for (const id of i % 2 ? ["ours", "ours-account"] : ["ours-account", "ours"]) {
    const t0 = now();
    await calls[id]();
    paired[id].push(Number(now() - t0) / 1e3);
  }
}

// 5. Throughput at CONCURRENCY calls in flight.
async function burst(call, total, concurrency) {
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await call();
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total / (Number(now() - t0) / 1e9);
}
for (const id of CLIENT_IDS) await burst(calls[id], SETTINGS.concurrency * 4, SETTINGS.concurrency); // open the connections
const throughput = Object.fromEntries(CLIENT_IDS.map((id) => [id, []]));
const startedTp = Date.now();
for (let round = 0; round < SETTINGS.throughputRounds; round++) {
  for (const id of rotate(round)) throughput[id].push(await burst(calls[id], SETTINGS.throughputCalls, SETTINGS.concurrency));
}
const throughputSeconds = (Date.now() - startedTp) / 1000;

await close();
server.send({ stop: true });
const { served } = await next();

const result = {
  settings: SETTINGS,
  served,
  sequentialSeconds,
  throughputSeconds,
  wire,
  latency: Object.fromEntries(
    CLIENT_IDS.map((id) => [id, { n: latencies[id].length, medianUs: median(latencies[id]), p99Us: p99(latencies[id]) }]),
  ),
  paired: Object.fromEntries(Object.entries(paired).map(([id, list]) => [id, { n: list.length, medianUs: median(list) }])),
  throughput: Object.fromEntries(
    CLIENT_IDS.map((id) => [id, { rounds: throughput[id], calls: SETTINGS.throughputCalls * SETTINGS.throughputRounds, medianPerSecond: median(throughput[id]) }]),
  ),
};
if (out) writeFileSync(out, JSON.stringify(result, null, 2));
else console.log(JSON.stringify(result, null, 2));
process.exit(0);
