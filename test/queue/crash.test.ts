/**
 * The queue's crash test (issue 18): rows over 10 linked accounts are enqueued into a real Redis (AOF,
 * fsync on every write) and delivered by 3 worker processes (fleet-worker.ts) into a local server that
 * stores writes by Idempotency-Key and injects 5xx after the write, connection resets after the write
 * and 429 with Retry-After. Workers are killed with SIGKILL at random moments and restarted, and Redis
 * itself is killed and restarted once. Two of the accounts answer every write 403 until a third of the
 * rows are stored (their jobs held in Redis, then brought back by a probe that succeeds, 1 s back-off).
 * At the end every row is stored exactly once, under its own
 * key, the queue's counts (and `status --redis --json`) agree, and enqueueing the same rows again
 * writes nothing.
 *
 * Short by default (200 rows, 3 kills); `npm run test:queue:crash` runs 3,000 rows and 12 kills.
 * QUEUE_CRASH_ROWS, QUEUE_CRASH_KILLS and QUEUE_CRASH_SEED change them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { idempotencyKeyFor } from "../../src/bulk/index.js";
import { createEngagementQueue, type EngagementQueue, type QueueCounts, type QueueRow } from "../../src/queue/index.js";
import { OPEN_META, ROOT, cliEnv, runCli } from "../cli/run-cli.js";
import { FakeMerge, type Behaviour } from "../support/fake-merge.js";
import { startRedis, type RedisServer } from "../support/redis.js";
import { seeded } from "../support/seeded.js";

const ROWS = Number(process.env["QUEUE_CRASH_ROWS"] ?? 200);
const KILLS = Number(process.env["QUEUE_CRASH_KILLS"] ?? 3);
const SEED = Number(process.env["QUEUE_CRASH_SEED"] ?? Date.now() % 100_000);
const WORKERS = 3;
const ACCOUNTS = Array.from({ length: 10 }, (_, i) => `queue-crash-account-${i}`);
const SECRET = "the queue crash test's secret, 32+ chars";
const API_KEY = "queue-crash-api-key";
const QUEUE = "crash";
const WORKER_SCRIPT = fileURLToPath(new URL("./fleet-worker.ts", import.meta.url));
/** The whole delivery must end by then (the failure guard slows a fleet that meets 8% failures). */
const DEADLINE_MS = 90_000 + ROWS * 150;

interface WorkerLife {
  slot: number;
  life: number;
  child: ChildProcess;
  /** It printed that it takes jobs. */
  ready: boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  startedAt: number;
  /** Set when the test kills it: any other exit is a worker that died by itself. */
  killed: boolean;
  /** When each job it reported ended, by outcome. */
  results: Array<{ at: number; outcome: string }>;
  stderr: string[];
}

let server: FakeMerge;
let redis: RedisServer | undefined;
let queue: EngagementQueue | undefined;
const lives: WorkerLife[] = [];

beforeAll(async () => {
  server = new FakeMerge();
  await server.start();
  redis = await startRedis({ aof: true });
});
afterAll(async () => {
  for (const life of lives) if (life.child.exitCode === null && life.child.signalCode === null) life.child.kill("SIGKILL");
  await Promise.all(lives.map((life) => life.exited));
  await queue?.close();
  await redis?.stop();
  await server.stop();
});

/**
 * Starts a worker process (`ready` once it says it takes jobs), through
 * `setpriv --pdeathsig KILL` where there is one, so no worker outlives a test process that dies.
 */
function startWorker(slot: number, url: string): WorkerLife {
  const args = ["--import", "tsx", WORKER_SCRIPT];
  const env = cliEnv({ REDIS_URL: url, QUEUE_NAME: QUEUE, MERGE_BASE_URL: server.url, MERGE_API_KEY: API_KEY, MERGE_QUEUE_SECRET: SECRET, WORKER_PROBE_BACKOFF_MS: "1000" });
  const options = { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
  const child = existsSync("/usr/bin/setpriv")
    ? spawn("/usr/bin/setpriv", ["--pdeathsig", "KILL", process.execPath, ...args], options)
    : spawn(process.execPath, args, options);
  const life: WorkerLife = {
    slot,
    life: lives.filter((l) => l.slot === slot).length + 1,
    child,
    startedAt: Date.now(),
    killed: false,
    results: [],
    stderr: [],
    ready: false,
    exited: new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal }))),
  };
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      const message = JSON.parse(line) as { ready?: number; at?: number; outcome?: string };
      if (message.ready !== undefined) life.ready = true;
      if (message.outcome !== undefined) life.results.push({ at: message.at ?? Date.now(), outcome: message.outcome });
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    life.stderr.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    life.stderr.splice(0, life.stderr.length - 40);
  });
  lives.push(life);
  return life;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (life: WorkerLife) => life.child.exitCode === null && life.child.signalCode === null;

test(`${ROWS} rows over 10 linked accounts, 3 worker processes, SIGKILL at ${KILLS} random moments and one Redis restart: every row stored exactly once`, async () => {
  // The plan (kill moments, victims, Redis's outage) and the faults draw from two generators: the
  // plan replays exactly from the seed, the faults as far as the arrivals' order does.
  const rand = seeded(SEED);
  const faultRand = seeded(SEED + 1);
  process.stdout.write(`queue crash test: seed ${SEED} (QUEUE_CRASH_SEED=${SEED} replays its choices)\n`);
  const db = redis!;
  const started = Date.now();
  const rows: QueueRow[] = Array.from({ length: ROWS }, (_, i) => ({
    model: { subject: `row-${i}`, direction: "OUTBOUND", start_time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() },
    accountToken: ACCOUNTS[i % ACCOUNTS.length]!,
    key: `k-${i}`,
    line: i + 1,
  }));

  // Each write meets one of: stored then 500, stored then the connection reset, 429 with Retry-After, or a 201.
  const injected = { "store-then-500": 0, "reset-after-store": 0, "429": 0, ok: 0 };
  const revoked = new Set([ACCOUNTS[3], ACCOUNTS[7]]);
  let refused = 0;
  server.reset([], (url, account) => {
    if (url.includes("/meta/")) return { status: 200, body: OPEN_META };
    if (revoked.has(account) && server.stored.size < ROWS / 3) {
      refused += 1;
      return { status: 403 };
    }
    const r = faultRand();
    const behaviour: Behaviour = r < 0.04 ? "store-then-500" : r < 0.08 ? "reset-after-store" : r < 0.1 ? { status: 429, retryAfter: "1" } : "ok";
    injected[typeof behaviour === "string" ? behaviour : "429"] += 1;
    return behaviour;
  });
  const posts = () => server.arrivals.filter((arrival) => arrival.method === "POST").length;

  // Attempts high enough that no row spends them on transient faults (5 in a row would be ~3e-6 each).
  queue = createEngagementQueue({ connection: db.url, name: QUEUE, secret: SECRET, attempts: 25, timeoutMs: 10_000 });
  const first = await queue.enqueueMany(rows);
  expect(first.filter((r) => r.status !== "queued")).toEqual([]);
  const enqueuedAt = Date.now();

  const slots: WorkerLife[] = Array.from({ length: WORKERS }, (_, slot) => startWorker(slot, db.url));
  // Kills at random moments, measured in rows stored (so each lands while rows are being delivered);
  // the Redis restart somewhere in the middle.
  const killAt = Array.from({ length: KILLS }, () => Math.floor(ROWS * (0.05 + 0.85 * rand()))).sort((a, b) => a - b);
  const redisAt = Math.floor(ROWS * (0.3 + 0.4 * rand()));
  const events: string[] = [];
  let redisRestarts = 0;
  let redisRestartedAt = Infinity;
  let kills = 0;

  let counts: QueueCounts | undefined;
  let countsAt = 0;
  let timedOut = false;
  for (;;) {
    const stored = server.stored.size;
    if (kills < killAt.length && stored >= killAt[kills]!) {
      await sleep(Math.floor(rand() * 40));
      // A worker that takes jobs, if any does (one still starting is a moment too, but a dull one).
      const ready = slots.filter((life) => alive(life) && life.ready);
      const candidates = ready.length > 0 ? ready : slots;
      const victim = candidates[Math.floor(rand() * candidates.length)]!;
      const before = server.stored.size;
      victim.killed = true;
      victim.child.kill("SIGKILL");
      const exit = await victim.exited;
      kills++;
      slots[victim.slot] = startWorker(victim.slot, db.url);
      events.push(`kill ${kills}: worker ${victim.slot + 1} (life ${victim.life}, ${exit.signal ?? `exit ${exit.code}`}) at ${before}/${ROWS} stored, after ${victim.results.length} jobs it ended; restarted`);
      continue;
    }
    if (redisRestarts === 0 && stored >= redisAt) {
      const before = server.stored.size;
      const downAt = Date.now();
      await db.kill();
      await sleep(200 + Math.floor(rand() * 800));
      await db.restart();
      redisRestarts++;
      redisRestartedAt = Date.now();
      events.push(`Redis SIGKILLed at ${before}/${ROWS} stored, restarted on its AOF after ${redisRestartedAt - downAt} ms`);
      continue;
    }
    if (Date.now() - countsAt >= 500) {
      countsAt = Date.now();
      counts = await queue.counts().catch(() => counts);
      if (counts && kills === killAt.length && redisRestarts === 1) {
        if (counts.failed > 0) break;
        if (counts.completed === ROWS && counts.waiting + counts.delayed + counts.active === 0) break;
      }
    }
    if (Date.now() - enqueuedAt > DEADLINE_MS) {
      timedOut = true;
      break;
    }
    await sleep(5);
  }
  const deliveredMs = Date.now() - enqueuedAt;

  // Every row stored exactly once: one stored write per row subject, under the row's own key.
  const timesStored = new Map<string, number>();
  for (const { body } of server.stored.values()) {
    const subject = (JSON.parse(body) as { model: { subject: string } }).model.subject;
    timesStored.set(subject, (timesStored.get(subject) ?? 0) + 1);
  }
  const duplicates = [...timesStored.values()].filter((n) => n > 1).length;
  const missing = rows.filter((row) => !timesStored.has(String(row.model.subject)));
  const notUnderOwnKey = rows.filter((row) => {
    const stored = server.stored.get(idempotencyKeyFor(row.accountToken!, row.key!));
    return stored === undefined || (JSON.parse(stored.body) as { model: { subject: string } }).model.subject !== row.model.subject;
  }).length;
  const postsAfterDelivery = posts();

  const failed = counts && counts.failed > 0 ? await queue.failedJobs(10) : [];
  // When the run did not end: the jobs still waiting, and why they went back to Redis.
  const stuck: string[] = [];
  if (timedOut) {
    const sendsByKey = new Map<string, number>();
    for (const arrival of server.arrivals) if (arrival.method === "POST") sendsByKey.set(String(arrival.idempotencyKey), (sendsByKey.get(String(arrival.idempotencyKey)) ?? 0) + 1);
    const most = [...sendsByKey.values()].sort((a, b) => b - a).slice(0, 10);
    stuck.push(`POSTs of the 10 most-sent keys: ${most.join(", ")}`);
    for (const id of (await db.command("ZRANGE", `bull:${QUEUE}:delayed`, "0", "2")).split("\n").filter(Boolean)) {
      const fields = await db.command("HMGET", `bull:${QUEUE}:${id}`, "attemptsMade", "attemptsStarted", "stalledCounter", "failedReason", "stacktrace");
      stuck.push(`delayed ${id}: ${fields.replace(/\n/g, " | ").slice(0, 1500)}`);
    }
  }
  const results = lives.flatMap((life) => life.results);
  const outcomes: Record<string, number> = {};
  for (const { outcome } of results) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  // Workers started before the Redis restart that went on delivering after it without a restart of their own.
  const reconnected = lives.filter((life) => life.startedAt < redisRestartedAt && life.results.some((r) => r.at > redisRestartedAt + 100)).length;

  // status --redis --json, as a user runs it.
  const status = await runCli(["status", "--redis", db.url, "--queue", QUEUE, "--json"]);
  const statusCounts = status.code === 0 ? (JSON.parse(status.stdout) as { counts: QueueCounts }).counts : undefined;

  // The same rows again, with a worker running: nothing is added that gets sent, nothing is written.
  const again = await queue.enqueueMany(rows);
  const againStatus: Record<string, number> = {};
  for (const r of again) againStatus[r.status] = (againStatus[r.status] ?? 0) + 1;
  await sleep(3_000);
  const countsAfter = await queue.counts();
  const newPosts = posts() - postsAfterDelivery;

  // Died by themselves (before the end), then the fleet's end: SIGTERM, which the worker handles by
  // default (closeOnSignals), finishing what it holds; each process exits 0.
  const diedAlone = lives.filter((life) => !life.killed && !alive(life));
  const running = lives.filter(alive);
  for (const life of running) {
    life.killed = true;
    life.child.kill("SIGTERM");
  }
  let giveUp: NodeJS.Timeout | undefined;
  const ends = await Promise.race([
    Promise.all(running.map((life) => life.exited)),
    new Promise<string>((resolve) => (giveUp = setTimeout(() => resolve("not within 15 s"), 15_000))),
  ]);
  clearTimeout(giveUp);
  const termExits = typeof ends === "string" ? ends : ends.map((end) => end.signal ?? end.code).join(", ");

  process.stdout.write(
    [
      `queue crash test (seed ${SEED}): ${ROWS} rows over ${ACCOUNTS.length} accounts, ${WORKERS} workers, ${kills} kills, ${redisRestarts} Redis restart; ` +
        `server ${server.stored.size} stored, ${duplicates} duplicates, ${missing.length} missing, ${postsAfterDelivery} POSTs; ` +
        `injected ${injected["store-then-500"]} store-then-500, ${injected["reset-after-store"]} reset-after-store, ${injected["429"]} 429, ${refused} 403 (2 accounts until a third was stored); ` +
        `delivered in ${(deliveredMs / 1000).toFixed(1)} s (${((Date.now() - started) / 1000).toFixed(1)} s in all)${timedOut ? " (TIMED OUT)" : ""}`,
      ...events.map((line) => `  ${line}`),
      `  workers: ${lives.length} processes in all, results ${JSON.stringify(outcomes)}; ${reconnected} reconnected to the restarted Redis by themselves`,
      `  counts: ${JSON.stringify(counts)}; status --redis --json: ${statusCounts ? JSON.stringify(statusCounts) : `exit ${status.code}: ${status.stderr.trim()}`}`,
      `  SIGTERM at the end: exits ${termExits}; workers that died by themselves: ${diedAlone.length}`,
      ...diedAlone.flatMap((life) => life.stderr.slice(-5).map((line) => `  worker ${life.slot + 1} (life ${life.life}): ${line}`)),
      `  enqueued again: ${JSON.stringify(againStatus)}; then ${newPosts} new POSTs, counts ${JSON.stringify(countsAfter)}`,
      ...(failed.length > 0 ? [`  failed jobs: ${JSON.stringify(failed.map((f) => ({ line: f.line, reason: f.reason, attemptsMade: f.attemptsMade })))}`] : []),
      ...stuck.map((line) => `  ${line}`),
      ...(timedOut || missing.length > 0 ? [`  missing lines: ${missing.slice(0, 20).map((row) => row.line).join(", ")}`, ...lives.filter(alive).flatMap((life) => life.stderr.slice(-5).map((line) => `  worker ${life.slot + 1}: ${line}`))] : []),
      "",
    ].join("\n"),
  );

  expect({ timedOut, failed: counts?.failed }).toEqual({ timedOut: false, failed: 0 });
  expect({ stored: server.stored.size, duplicates, missing: missing.length, notUnderOwnKey }).toEqual({ stored: ROWS, duplicates: 0, missing: 0, notUnderOwnKey: 0 });
  expect({ kills, redisRestarts }).toEqual({ kills: KILLS, redisRestarts: 1 });
  expect(injected["store-then-500"] + injected["reset-after-store"]).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
  expect(reconnected).toBeGreaterThan(0);
  const done: QueueCounts = { waiting: 0, delayed: 0, active: 0, completed: ROWS, failed: 0 };
  expect(counts).toEqual(done);
  expect({ code: status.code, counts: statusCounts }).toEqual({ code: 0, counts: done });
  expect((againStatus["delivered-before"] ?? 0) + (againStatus["queued"] ?? 0)).toBe(ROWS);
  expect({ diedAlone: diedAlone.length, termExits }).toEqual({ diedAlone: 0, termExits: running.map(() => 0).join(", ") });
  expect({ newPosts, stored: server.stored.size, counts: countsAfter }).toEqual({ newPosts: 0, stored: ROWS, counts: done });
}, 900_000);
