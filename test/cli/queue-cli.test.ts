/**
 * The queue's commands as a user runs them (issue 18): `enqueue`, `worker` and `status --redis` as child
 * processes against a real redis-server (test/support/redis.ts) and a local server that stores each
 * Idempotency-Key once (test/support/fake-merge.ts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { useRedis } from "../support/redis.js";
import { type CliRun, runCli, startCli, useCliFixture } from "./run-cli.js";

const SECRET = "a-queue-secret-for-the-cli-test";
const KEY = { MERGE_API_KEY: "queue-cli-test-api-key" };
const TOKEN_A = "secret-token-of-account-a";
const TOKEN_B = "secret-token-of-account-b";
const WITHOUT_PEERS = fileURLToPath(new URL("./without-queue-peers.cjs", import.meta.url));

const redis = useRedis();
const { server, dir: tempDir } = useCliFixture("cli-queue-");
let n = 0;

function file(name: string, lines: string[]): string {
  n += 1;
  const path = join(tempDir(), `${n}-${name}`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}
const posts = () => server.arrivals.filter((arrival) => arrival.method === "POST").length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface QueueStatus {
  queue: string;
  counts: { waiting: number; delayed: number; active: number; completed: number; failed: number };
  failed: { jobId: string; key: string; line?: number; reason: string; attemptsMade: number }[];
}
async function queueStatus(queue?: string): Promise<QueueStatus> {
  const run = await runCli(["status", "--redis", redis().url, ...(queue === undefined ? [] : ["--queue", queue]), "--json"]);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as QueueStatus;
}
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
function noSecrets(...runs: CliRun[]): void {
  for (const run of runs) for (const text of [run.stdout, run.stderr]) expect(text).not.toMatch(/secret-token|queue-secret|queue-cli-test-api-key/);
}

test("enqueue (a bad row: exit 1, the good rows queued), status, a worker delivers them and stops on SIGTERM (exit 0), enqueue again: all delivered before, nothing sent twice", async () => {
  const path = file("rows.ndjson", [
    JSON.stringify({ model: { subject: "one", direction: "OUTBOUND" }, account_token: TOKEN_A, key: "r1" }),
    JSON.stringify({ model: { subject: "two" }, account_token: TOKEN_B, key: "r2" }),
    "{ not json",
    JSON.stringify({ model: { subject: "three", direction: "UPWARDS" }, account_token: TOKEN_B, key: "r4" }),
    JSON.stringify({ subject: "four, bare, the default account" }),
    JSON.stringify({ model: { subject: "five" }, key: "r6" }),
  ]);
  const env = { MERGE_QUEUE_SECRET: SECRET };
  const args = ["enqueue", path, "--redis", redis().url, "--account-token", TOKEN_A, "--json"];

  const first = await runCli(args, env);
  expect(first.code).toBe(1);
  expect(JSON.parse(first.stdout)).toMatchObject({ command: "enqueue", file: path, queue: "merge-crm-engagements", rows: 6, queued: 4, deliveredBefore: 0, rejected: 2, exitCode: 1 });
  expect(first.stderr).toMatch(/^ {2}line 3: \(row\) is not valid JSON/m);
  expect(first.stderr).toMatch(/^ {2}line 4, key r4: \/model\/direction /m);
  expect(first.stderr).toMatch(/queued\s+4\n\s+delivered before\s+0\n\s+rejected\s+2/);

  const queued = await queueStatus();
  expect(Object.keys(queued)).toEqual(["queue", "counts", "suspended", "failed"]);
  expect(queued).toEqual({ queue: "merge-crm-engagements", counts: { waiting: 4, delayed: 0, active: 0, completed: 0, failed: 0 }, suspended: [], failed: [] });
  expect(posts()).toBe(0);

  const worker = startCli(["worker", "--redis", redis().url, "--base-url", server.url, "--rate", "6000", "--concurrency", "8"], { ...KEY, ...env });
  await until("4 completed jobs", async () => server.stored.size === 4 && (await queueStatus()).counts.completed === 4);
  worker.child.kill("SIGTERM");
  const stopped = await worker.done;
  expect(stopped.code).toBe(0);
  expect(stopped.stderr).toContain(`Worker on queue merge-crm-engagements at ${redis().url}: 6,000/min per linked account, up to 8 jobs at once.\nDelivering to ${server.url}. Stop with Ctrl-C or SIGTERM.`);
  expect(stopped.stderr).toContain("Stopping (SIGTERM)");
  expect(stopped.stderr).toMatch(/Worker stopped: delivered 4 \(created 4, done before 0, rejected 0, failed 0\)/);
  expect(posts()).toBe(4);

  const again = await runCli(args, env);
  expect(again.code).toBe(1);
  expect(JSON.parse(again.stdout)).toMatchObject({ rows: 6, queued: 0, deliveredBefore: 4, rejected: 2 });
  expect((await queueStatus()).counts).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 4, failed: 0 });
  expect(server.stored.size).toBe(4);
  expect(posts()).toBe(4);
  noSecrets(first, stopped, again);
}, 120_000);

test("a worker without MERGE_QUEUE_SECRET warns, fails the jobs that carry tokens with the reason, and status lists them (--queue, and the text form)", async () => {
  const queue = "no-secret";
  const path = file("tokens.csv", ["key,account_token,subject", `c1,${TOKEN_A},Call`, `c2,${TOKEN_B},Meeting`]);
  const enqueued = await runCli(["enqueue", path, "--redis", redis().url, "--queue", queue], { MERGE_QUEUE_SECRET: SECRET });
  expect(enqueued.code).toBe(0);
  expect(enqueued.stderr).toMatch(/queued\s+2/);
  expect(enqueued.stderr).toContain(`worker --redis ${redis().url} --queue ${queue}`);

  const worker = startCli(["worker", "--redis", redis().url, "--queue", queue, "--base-url", server.url], KEY);
  await until("2 failed jobs", async () => (await queueStatus(queue)).counts.failed === 2);
  worker.child.kill("SIGINT");
  const stopped = await worker.done;
  expect(stopped.code).toBe(0);
  expect(stopped.stderr).toContain("warning: MERGE_QUEUE_SECRET is not set");
  expect(stopped.stderr).toMatch(/failed \(line 2, key c1, job mce-[0-9a-f]+-[0-9a-f]+\): MergeQueueConfigError: .*MERGE_QUEUE_SECRET/);
  expect(posts()).toBe(0);

  const status = await runCli(["status", "--redis", redis().url, "--queue", queue]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/^Queue no-secret at redis:\/\/127\.0\.0\.1:\d+\n {2}waiting\s+0\n {2}delayed\s+0\n {2}active\s+0\n {2}completed\s+0\n {2}failed\s+2\n/);
  expect(status.stdout).toMatch(/^ {2}2\tc1\tFailed: .*MERGE_QUEUE_SECRET/m);
  expect(status.stdout).toMatch(/^ {2}3\tc2\t/m);
  noSecrets(enqueued, stopped, status);
}, 60_000);

test("rows with tokens and no MERGE_QUEUE_SECRET: exit 2 naming it, before anything is enqueued", async () => {
  const path = file("needs-secret.ndjson", [JSON.stringify({ model: { subject: "plain" }, key: "p1" }), JSON.stringify({ model: { subject: "x" }, account_token: TOKEN_A, key: "s1" })]);
  const queue = "needs-secret";
  const run = await runCli(["enqueue", path, "--redis", redis().url, "--queue", queue]);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/MERGE_QUEUE_SECRET is not set: line 2 of .* carries an account_token/);
  const flag = await runCli(["enqueue", path, "--redis", redis().url, "--queue", queue, "--account-token", TOKEN_A]);
  expect(flag.code).toBe(2);
  expect(flag.stderr).toContain("MERGE_QUEUE_SECRET is not set");
  expect((await queueStatus(queue)).counts.waiting).toBe(0);
  noSecrets(run, flag);
});

describe("Redis unreachable: a message and exit 1 (no stack trace, no hang)", () => {
  const DOWN = "redis://:some-password@127.0.0.1:1";
  test.each([
    [["enqueue", "ROWS", "--redis", DOWN, "--account-token", "TOKEN"]],
    [["status", "--redis", DOWN]],
    [["status", "--redis", DOWN, "--json"]],
    [["worker", "--redis", DOWN, "--base-url", "http://127.0.0.1:9"]],
  ])("%j", async (args) => {
    const path = file("down.ndjson", [JSON.stringify({ model: { subject: "a" }, key: "d1" })]);
    const started = performance.now();
    const run = await runCli(args.map((arg) => (arg === "ROWS" ? path : arg === "TOKEN" ? TOKEN_A : arg)), { ...KEY, MERGE_QUEUE_SECRET: SECRET });
    expect(run.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(run.stderr).toContain("merge-crm-engagements: Redis at redis://:***@127.0.0.1:1 is unreachable");
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).not.toContain("some-password");
    expect(run.stdout).toBe("");
  }, 30_000);
});

test("without bullmq and ioredis, import and status --journal work as before and the queue commands name the install command", async () => {
  const env = { NODE_OPTIONS: `--require ${WITHOUT_PEERS}` };
  const path = file("no-peers.ndjson", [JSON.stringify({ model: { subject: "a" }, key: "np1" })]);
  const journal = join(tempDir(), "no-peers.journal");
  const imported = await runCli(["import", path, "--journal", journal, "--base-url", server.url, "--account-token", TOKEN_A], { ...env, ...KEY });
  expect(imported.code).toBe(0);
  expect((await runCli(["status", "--journal", journal], env)).code).toBe(0);
  const worker = await runCli(["worker", "--redis", redis().url], env);
  expect(worker.code).toBe(2);
  expect(worker.stderr).toContain("npm install bullmq");
}, 60_000);
