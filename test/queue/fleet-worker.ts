/**
 * One worker of the queue crash test's fleet (crash.test.ts), run as its own process so that SIGKILL
 * ends it as it would end a machine: `startEngagementWorker` with the client pointed at the test's
 * local server, a high rate (pacing is not what the test is about) and a short lock, so that another
 * worker takes over a killed worker's jobs within seconds. Its signal handling is the library's
 * default (SIGTERM, SIGINT). It prints `{"ready":pid}` once it takes jobs, then one JSON line per job
 * that ends (stdout is a pipe: written synchronously, so a line printed before a kill is not lost).
 *
 * Settings from the environment: REDIS_URL, QUEUE_NAME, MERGE_BASE_URL, MERGE_API_KEY,
 * MERGE_QUEUE_SECRET, and optionally WORKER_CONCURRENCY, WORKER_RATE, WORKER_LOCK_MS, WORKER_STALLED_MS.
 */
import { createMergeCrmClient } from "../../src/index.js";
import { startEngagementWorker } from "../../src/queue/index.js";

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`fleet-worker: ${name} is not set`);
  return value;
}
const number = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const client = createMergeCrmClient({ apiKey: setting("MERGE_API_KEY"), baseUrl: setting("MERGE_BASE_URL") });
const worker = await startEngagementWorker({
  client,
  connection: setting("REDIS_URL"),
  name: setting("QUEUE_NAME"),
  secret: setting("MERGE_QUEUE_SECRET"),
  ratePerMinute: number("WORKER_RATE", 60_000),
  concurrency: number("WORKER_CONCURRENCY", 20),
  lockDurationMs: number("WORKER_LOCK_MS", 3_000),
  stalledIntervalMs: number("WORKER_STALLED_MS", 1_000),
  accountHealth: { probeBackoffMs: number("WORKER_PROBE_BACKOFF_MS", 15_000) },
  logger: { error: (message: string) => process.stderr.write(`${message}\n`) },
  onResult: (result) =>
    process.stdout.write(`${JSON.stringify({ at: Date.now(), jobId: result.jobId, key: result.key, outcome: result.outcome, attempts: result.attempts, error: result.error?.name })}\n`),
});
process.stdout.write(`${JSON.stringify({ ready: process.pid })}\n`);
await worker.closed;
process.stdout.write(`${JSON.stringify({ closed: process.pid, stats: worker.stats() })}\n`);
