/**
 * The queue layer against a real Redis (Debian's redis-server, started on a free port) and a local
 * Merge that stores writes by Idempotency-Key: producers check rows before they enter, the same row
 * enqueued twice is one job, workers deliver each job once, rejected rows end in `failed` with their
 * problems, transient failures are retried (test/queue/secrets.test.ts searches Redis's AOF for tokens).
 */
import { createMergeCrmClient, isMergeValidationError, type MergeValidationError } from "../../src/index.js";
import { createEngagementQueue, MergeQueueConfigError, MergeQueueUnavailableError, startEngagementWorker, type EngagementQueue, type EngagementWorker, type QueueDeliveryResult } from "../../src/queue/index.js";
import { OUTBOUND_ONLY_META, useFakeMerge } from "../support/fake-merge.js";
import { useRedis } from "../support/redis.js";

const redis = useRedis();
const { server } = useFakeMerge("queue-");
const SECRET = "a queue secret of the tests, 32 chars";
const TOKEN = "queue-test-account-token-1";
const API_KEY = "queue-test-api-key";

let queue: EngagementQueue;
let worker: EngagementWorker | undefined;
let queueName = "";
let n = 0;
beforeEach(async () => {
  queueName = `q${++n}-${Date.now()}`;
  await redis().command("FLUSHALL");
  queue = createEngagementQueue({ connection: redis().url, name: queueName, secret: SECRET });
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await queue.close();
});

function client() {
  return createMergeCrmClient({ apiKey: API_KEY, baseUrl: server.url });
}

async function startWorker(results: QueueDeliveryResult[], extra: { ratePerMinute?: number } = {}): Promise<EngagementWorker> {
  worker = await startEngagementWorker({
    client: client(),
    connection: redis().url,
    name: queueName,
    secret: SECRET,
    ratePerMinute: extra.ratePerMinute ?? 6000,
    closeOnSignals: false,
    onResult: (r) => results.push(r),
  });
  return worker;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a bad row is refused with MergeValidationError naming the field, and never enters the queue", async () => {
  const error = await queue.enqueue({ model: { subject: "Call", direction: "SIDEWAYS" as "INBOUND" }, accountToken: TOKEN, key: "bad" }).catch((e: unknown) => e);
  expect(isMergeValidationError(error)).toBe(true);
  expect((error as MergeValidationError).problems.map((p) => p.pointer)).toContain("/model/direction");
  expect(await queue.counts()).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 });
});

test("the same row enqueued twice is one job, delivered once; enqueued after delivery, it is delivered-before", async () => {
  const row = { model: { subject: "Call", direction: "OUTBOUND" as const }, accountToken: TOKEN, key: "call-1" };
  const first = await queue.enqueue(row);
  const again = await queue.enqueue(row);
  expect(again.jobId).toBe(first.jobId);
  expect((await queue.counts()).waiting).toBe(1);
  const results: QueueDeliveryResult[] = [];
  await startWorker(results);
  await until("the delivery", async () => (await queue.counts()).completed === 1);
  expect(server.posts()).toHaveLength(1);
  expect(server.posts()[0]?.account).toBe(TOKEN);
  expect(results.map((r) => r.outcome)).toEqual(["created"]);
  expect(await queue.enqueue(row)).toMatchObject({ status: "delivered-before", jobId: first.jobId });
  expect(server.posts()).toHaveLength(1);
});

test("enqueueMany: bad rows are refused with their problems, the others delivered; a rejected answer ends in failed with its reason", async () => {
  server.decide = ({ body }) => (body.includes("refuse me") ? { status: 400 } : "store");
  const rows = [
    { model: { subject: "one" }, accountToken: TOKEN, key: "m-1", line: 1 },
    { model: { subject: "two", direction: "NOPE" as "INBOUND" }, accountToken: TOKEN, key: "m-2", line: 2 },
    { model: { subject: "refuse me" }, accountToken: TOKEN, key: "m-3", line: 3 },
    { model: { subject: "four" }, accountToken: TOKEN, line: 4 },
  ];
  const results = await queue.enqueueMany(rows);
  expect(results.map((r) => r.status)).toEqual(["queued", "rejected", "queued", "queued"]);
  expect(results[1]).toMatchObject({ line: 2, problems: [expect.objectContaining({ pointer: "/model/direction" })] });
  const delivered: QueueDeliveryResult[] = [];
  await startWorker(delivered);
  await until("the deliveries", async () => {
    const counts = await queue.counts();
    return counts.completed === 2 && counts.failed === 1;
  });
  const failed = await queue.failedJobs();
  expect(failed).toHaveLength(1);
  expect(failed[0]).toMatchObject({ line: 3, key: "m-3" });
  expect(failed[0]?.reason).toMatch(/^Rejected: MergeBadRequestError 400/);
  expect(server.posts().filter((p) => p.status === 400)).toHaveLength(1); // never retried
});

test("transient failures are retried by BullMQ with the same Idempotency-Key until one succeeds", async () => {
  let calls = 0;
  server.decide = () => (++calls <= 2 ? { status: 503, retryAfter: "0" } : "store");
  await queue.enqueue({ model: { subject: "retry me" }, accountToken: TOKEN, key: "r-1" });
  const results: QueueDeliveryResult[] = [];
  await startWorker(results);
  await until("the delivery", async () => (await queue.counts()).completed === 1);
  const keys = new Set(server.posts().map((p) => p.idempotencyKey));
  expect(server.posts()).toHaveLength(3);
  expect(keys.size).toBe(1);
  expect(worker?.stats()).toMatchObject({ created: 1, retried: 2 });
});

test("a row with a token and no secret is refused with MergeQueueConfigError naming MERGE_QUEUE_SECRET", async () => {
  const saved = process.env["MERGE_QUEUE_SECRET"];
  delete process.env["MERGE_QUEUE_SECRET"];
  const bare = createEngagementQueue({ connection: redis().url, name: queueName });
  try {
    const error = await bare.enqueue({ model: { subject: "x" }, accountToken: TOKEN }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MergeQueueConfigError);
    expect(String((error as Error).message)).toContain("MERGE_QUEUE_SECRET");
  } finally {
    await bare.close();
    if (saved !== undefined) process.env["MERGE_QUEUE_SECRET"] = saved;
  }
});

test("with Redis unreachable, enqueue rejects with MergeQueueUnavailableError within its timeout", async () => {
  const down = createEngagementQueue({ connection: "redis://127.0.0.1:1", name: queueName, secret: SECRET, timeoutMs: 500 });
  try {
    const started = Date.now();
    const error = await down.enqueue({ model: { subject: "x" }, accountToken: TOKEN, key: "down" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MergeQueueUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  } finally {
    await down.close();
  }
});

test("accountRef: the worker resolves the token itself; nothing of it is in the job", async () => {
  await queue.enqueue({ model: { subject: "by ref" }, accountRef: "customer-42", key: "ref-1" });
  const results: QueueDeliveryResult[] = [];
  worker = await startEngagementWorker({
    client: client(),
    connection: redis().url,
    name: queueName,
    ratePerMinute: 6000,
    closeOnSignals: false,
    resolveAccountToken: async (ref) => `token-of-${ref}`,
    onResult: (r) => results.push(r),
  });
  await until("the delivery", async () => (await queue.counts()).completed === 1);
  expect(server.posts()[0]?.account).toBe("token-of-customer-42");
});

test("a row the linked account's schema refuses ends in failed with its problems (from the done-store), never sent; jobs are kept 24 h", async () => {
  server.meta = OUTBOUND_ONLY_META;
  await queue.enqueueMany([
    { model: { subject: "ok", direction: "OUTBOUND" }, accountToken: TOKEN, key: "s-1", line: 1 },
    { model: { subject: "in", direction: "INBOUND" }, accountToken: TOKEN, key: "s-2", line: 2 },
  ]);
  worker = await startEngagementWorker({
    client: createMergeCrmClient({ apiKey: API_KEY, baseUrl: server.url, accountValidation: "strict" }),
    connection: redis().url,
    name: queueName,
    secret: SECRET,
    ratePerMinute: 6000,
    closeOnSignals: false,
  });
  await until("the deliveries", async () => {
    const counts = await queue.counts();
    return counts.completed === 1 && counts.failed === 1;
  });
  expect(server.posts()).toHaveLength(1);
  const [failed] = await queue.failedJobs();
  expect(failed).toMatchObject({ line: 2, key: "s-2", problems: [expect.objectContaining({ pointer: "/model/direction" })] });
  expect(failed?.reason).toMatch(/^Rejected: \/model\/direction /);
  const raw = await redis().command("HGET", `bull:${queueName}:${failed?.jobId ?? ""}`, "opts");
  expect(JSON.parse(raw)).toMatchObject({ removeOnComplete: { age: 86_400 }, attempts: 5 });
});
