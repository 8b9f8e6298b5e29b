/**
 * Queue jobs whose model names its contacts, owner, account and engagement type by reference, against a
 * real Redis and the fake Merge's directories of two linked accounts: the producer checks a reference's
 * shape only; the worker looks it up (paced by the fleet's gate) and sends the ids of the job's own
 * account; a reference that matches nothing or several ends the job rejected with its pointer, never
 * sent; `missingContacts` comes from the row, else the queue, else the worker; two workers that each
 * create one missing contact make one (its Idempotency-Key); lookups are cached over a worker's jobs, and
 * one that fails is retried as an attempt of its job.
 */
import { Queue } from "bullmq";
import { createMergeCrmClient, isMergeValidationError, type Logger, type MergeValidationError } from "../../src/index.js";
import {
  createEngagementQueue,
  startEngagementWorker,
  type EngagementQueue,
  type EngagementQueueOptions,
  type EngagementWorker,
  type EngagementWorkerOptions,
  type QueueDeliveryResult,
  type QueueRow,
} from "../../src/queue/index.js";
import { accountOf, JOB_NAME, jobIdOf } from "../../src/queue/jobs.js";
import { useFakeMerge } from "../support/fake-merge.js";
import { id, referenceDirectory } from "../support/reference-directory.js";
import { useRedis } from "../support/redis.js";

/** The queues and workers a test opened, closed after it. */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const handle of open.splice(0).reverse()) await handle.close();
});
const redis = useRedis();
const { server } = useFakeMerge("queue-references-");

const SECRET = "the queue references test's secret";
const A = "acct_queue_references_a";
const B = "acct_queue_references_b";
const quiet: Logger = {};

let queueName = "";
let n = 0;
beforeEach(async () => {
  queueName = `refs${++n}-${Date.now()}`;
  await redis().command("FLUSHALL");
  server.setDirectory(A, referenceDirectory(0));
  server.setDirectory(B, referenceDirectory(100));
});

function queueOf(options: Partial<EngagementQueueOptions> = {}): EngagementQueue {
  const queue = createEngagementQueue({ connection: redis().url, name: queueName, secret: SECRET, ...options });
  open.push(queue);
  return queue;
}

/** A worker with its own client (its own lookup cache, as another process has), sending with `apiKey`. */
async function workerOf(results: QueueDeliveryResult[], options: Partial<EngagementWorkerOptions> & { apiKey?: string } = {}): Promise<EngagementWorker> {
  const { apiKey = "queue-references-api-key", ...rest } = options;
  const worker = await startEngagementWorker({
    client: createMergeCrmClient({ apiKey, baseUrl: server.url, logger: quiet }),
    connection: redis().url,
    name: queueName,
    secret: SECRET,
    ratePerMinute: 60_000,
    closeOnSignals: false,
    onResult: (result) => results.push(result),
    ...rest,
  });
  open.push(worker);
  return worker;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const settled = (queue: EngagementQueue, completed: number, failed: number) => async () => {
  const counts = await queue.counts();
  return counts.completed === completed && counts.failed === failed;
};
const writes = () => server.arrivals.filter((a) => a.method === "POST" && a.url.startsWith("/crm/v1/engagements"));
const sentBySubject = () => Object.fromEntries(writes().map((a) => JSON.parse(a.body).model).map((model) => [model.subject, model]));
const byKey = (results: QueueDeliveryResult[]) => Object.fromEntries(results.map((result) => [result.key, result]));
const pointers = (result: { problems?: { pointer: string }[] | undefined } | undefined) => result?.problems?.map((problem) => problem.pointer).sort();

test("jobs are delivered with the ids of their own linked account; a reference matching nothing or several ends the job rejected with its pointer, never sent; a malformed one is refused by enqueueMany, and by the worker when a job carries it anyway", async () => {
  const refs = {
    contacts: [{ email: "ada@example.COM" }, { email: " g.hopper@example.org" }, id(50)],
    owner: { email: "rep@example.com" },
    account: { name: "acme inc" },
    engagement_type: { activity_type: "CALL" },
  };
  const queue = queueOf();
  const enqueued = await queue.enqueueMany([
    { key: "ok-a", accountToken: A, model: { subject: "ok-a", ...refs } },
    { key: "ok-b", accountToken: B, model: { subject: "ok-b", ...refs } },
    { key: "remote", accountToken: B, model: { subject: "remote", contacts: [{ remote_id: "c-grace" }], owner: { remote_id: "u-rep" }, account: { remote_id: "a-acme" }, engagement_type: { name: "cold CALL" } } },
    { key: "ambiguous", accountToken: A, model: { subject: "ambiguous", contacts: [{ email: "info@example.com" }], account: { name: "Globex" } } },
    { key: "not-found", accountToken: B, model: { subject: "not-found", contacts: [{ email: "ada@example.com" }, { email: "nobody@example.com" }], owner: { email: "ghost@example.com" }, engagement_type: { remote_id: "t-none" } } },
    { key: "malformed", accountToken: A, model: { subject: "malformed", owner: { email: "rep@example.com", remote_id: "u-rep" }, contacts: [{ phone: "+1 555" } as never], engagement_type: { activity_type: "" } } },
  ]);
  expect(enqueued.map((result) => result.status)).toEqual(["queued", "queued", "queued", "queued", "queued", "rejected"]);
  expect(enqueued[5]).toMatchObject({ key: "malformed" });
  expect(pointers(enqueued[5] as { problems: { pointer: string }[] })).toEqual(["/model/contacts/0", "/model/engagement_type", "/model/owner"]);
  // No lookup is made to enqueue: the producer checks the references' shape only.
  expect(server.arrivals).toHaveLength(0);

  // A job another producer added, carrying a malformed reference (its account named by reference).
  const raw = new Queue(queueName, { connection: { url: redis().url } });
  try {
    const account = accountOf({ accountRef: "ref-a" });
    const data = { v: 1, account, key: "raw-malformed", model: { subject: "raw", account: { name: "Acme Inc", remote_id: "a-acme" } }, accountRef: "ref-a" };
    await raw.add(JOB_NAME, data, { jobId: jobIdOf(account, "raw-malformed"), attempts: 3 });
  } finally {
    await raw.close();
  }

  const results: QueueDeliveryResult[] = [];
  await workerOf(results, { resolveAccountToken: (ref) => (ref === "ref-a" ? A : B) });
  await until("3 jobs completed and 3 failed", settled(queue, 3, 3));

  const sent = sentBySubject();
  expect(Object.keys(sent).sort()).toEqual(["ok-a", "ok-b", "remote"]);
  expect(sent["ok-a"]).toEqual({ subject: "ok-a", contacts: [id(1), id(2), id(50)], owner: id(11), account: id(21), engagement_type: id(31) });
  expect(sent["ok-b"]).toEqual({ subject: "ok-b", contacts: [id(101), id(102), id(50)], owner: id(111), account: id(121), engagement_type: id(131) });
  expect(sent["remote"]).toEqual({ subject: "remote", contacts: [id(102)], owner: id(111), account: id(121), engagement_type: id(132) });
  expect(writes().map((a) => a.account).sort()).toEqual([A, B, B]);

  const delivered = byKey(results);
  expect(Object.values(delivered).map((r) => `${r.key}:${r.outcome}`).sort()).toEqual(
    ["ambiguous:rejected", "not-found:rejected", "ok-a:created", "ok-b:created", "raw-malformed:rejected", "remote:created"],
  );
  expect(pointers(delivered["ambiguous"])).toEqual(["/model/account", "/model/contacts/0"]);
  expect(delivered["ambiguous"]?.problems?.[0]).toMatchObject({ message: expect.stringMatching(/2 matches/), candidates: [id(22), id(23)] });
  expect(delivered["ambiguous"]?.problems?.[1]).toMatchObject({ candidates: [id(3), id(4)] });
  expect(pointers(delivered["not-found"])).toEqual(["/model/contacts/1", "/model/engagement_type", "/model/owner"]);
  expect(delivered["not-found"]?.problems?.find((p) => p.pointer === "/model/contacts/1")?.message).toContain("nobody@example.com");
  expect(pointers(delivered["raw-malformed"])).toEqual(["/model/account"]);

  const failed = Object.fromEntries((await queue.failedJobs()).map((job) => [job.key, job]));
  expect(Object.keys(failed).sort()).toEqual(["ambiguous", "not-found", "raw-malformed"]);
  expect(failed["ambiguous"]?.reason).toMatch(/^Rejected: \/model\/account 2 matches .*; \/model\/contacts\/0 2 matches/);
  expect(failed["not-found"]?.reason).toMatch(/\/model\/contacts\/1 no contact with email "nobody@example.com"/);
  expect(failed["raw-malformed"]?.reason).toMatch(/^Rejected: \/model\/account must name the account one way/);
  expect(pointers(failed["not-found"])).toEqual(["/model/contacts/1", "/model/engagement_type", "/model/owner"]);
  for (const job of Object.values(failed)) expect(job.attemptsMade).toBe(1); // rejected at once, never retried

  // Rejected is final: enqueued again, the row is delivered before, and nothing more is looked up or sent.
  const arrivals = server.arrivals.length;
  const again = await queue.enqueue({ key: "ambiguous", accountToken: A, model: { subject: "ambiguous", contacts: [{ email: "info@example.com" }], account: { name: "Globex" } } });
  expect(again.status).toBe("delivered-before");
  expect(server.arrivals).toHaveLength(arrivals);
});

test('missingContacts: "create" carried from the queue or the row beats the worker\'s; a job that says none takes the worker\'s; "omit" drops the contact; "reject" rejects the row; other values are refused', async () => {
  expect(() => createEngagementQueue({ connection: redis().url, missingContacts: "maybe" as never })).toThrow(/\/missingContacts/);
  await expect(startEngagementWorker({ client: createMergeCrmClient({ apiKey: "k", baseUrl: server.url }), connection: redis().url, missingContacts: "sometimes" as never })).rejects.toThrow(/\/missingContacts/);

  const creating = queueOf({ name: `${queueName}-creating`, missingContacts: "create" });
  const plain = queueOf({ name: `${queueName}-plain` });
  const first = await creating.enqueueMany([
    { key: "queue-create", accountToken: A, model: { subject: "queue-create", contacts: [{ email: "ada@example.com" }, { email: "New.A@Example.com", first_name: "New", last_name: "A" }] } },
    { key: "row-omit", accountToken: A, missingContacts: "omit", model: { subject: "row-omit", contacts: [{ email: "ada@example.com" }, { email: "new.b@example.com" }] } },
    { key: "row-reject", accountToken: A, missingContacts: "reject", model: { subject: "row-reject", contacts: [{ email: "new.c@example.com" }] } },
    { key: "row-bad", accountToken: A, missingContacts: "maybe" as never, model: { subject: "row-bad" } },
  ]);
  expect(first.map((result) => result.status)).toEqual(["queued", "queued", "queued", "rejected"]);
  expect(pointers(first[3] as { problems: { pointer: string }[] })).toEqual(["/missingContacts"]);
  await plain.enqueueMany([
    { key: "worker-default", accountToken: B, model: { subject: "worker-default", contacts: [{ email: "new.e@example.com" }] } },
    { key: "row-create", accountToken: B, missingContacts: "create", model: { subject: "row-create", contacts: [{ email: "new.f@example.com" }] } },
    { key: "row-omit-b", accountToken: B, missingContacts: "omit", model: { subject: "row-omit-b", contacts: [{ email: "new.g@example.com" }] } },
  ]);

  const results: QueueDeliveryResult[] = [];
  // The worker of the queue that says "create" would omit; the plain queue's worker creates.
  await workerOf(results, { name: creating.name, missingContacts: "omit" });
  await workerOf(results, { name: plain.name, missingContacts: "create" });
  await until("the deliveries", async () => (await settled(creating, 2, 1)()) && (await settled(plain, 3, 0)()));

  const created = Object.fromEntries([...server.storedContacts.values()].map((stored) => [JSON.parse(stored.body).model.email_addresses[0].email_address, stored]));
  // The email as matched (trimmed, lower case): the body depends only on what its key is derived from.
  expect(Object.keys(created).sort()).toEqual(["new.a@example.com", "new.e@example.com", "new.f@example.com"]);
  expect(JSON.parse(created["new.a@example.com"]?.body ?? "{}").model).toEqual({ email_addresses: [{ email_address: "new.a@example.com" }], first_name: "New", last_name: "A" });
  expect(server.contactCreates(A)).toHaveLength(1);
  expect(server.contactCreates(B)).toHaveLength(2);

  const sent = sentBySubject();
  expect(Object.keys(sent).sort()).toEqual(["queue-create", "row-create", "row-omit", "row-omit-b", "worker-default"]);
  expect(sent["queue-create"]?.contacts).toEqual([id(1), created["new.a@example.com"]?.id]);
  expect(sent["row-omit"]?.contacts).toEqual([id(1)]);
  expect(sent["worker-default"]?.contacts).toEqual([created["new.e@example.com"]?.id]);
  expect(sent["row-create"]?.contacts).toEqual([created["new.f@example.com"]?.id]);
  expect(sent["row-omit-b"]?.contacts).toEqual([]);
  const rejected = byKey(results)["row-reject"];
  expect(rejected).toMatchObject({ outcome: "rejected", problems: [expect.objectContaining({ pointer: "/model/contacts/0", message: expect.stringContaining("new.c@example.com") })] });
  expect((await creating.failedJobs())[0]?.reason).toMatch(/^Rejected: \/model\/contacts\/0 no contact with email "new.c@example.com"/);
});

/** Two workers, each with its own client (its own cache, as another process has), started before the jobs so that both take some. */
async function twoWorkers(results: QueueDeliveryResult[]): Promise<EngagementWorker[]> {
  // 10 jobs at once each: neither can take all 30.
  return [await workerOf(results, { apiKey: "worker-one", concurrency: 10 }), await workerOf(results, { apiKey: "worker-two", concurrency: 10 })];
}

test('30 jobs naming one unknown email, "create", delivered by two workers at once, each with its own cache and blind to the other\'s contact: one contact, 30 engagements each stored once', async () => {
  // Merge's sync is slow: a contact created is not found by lookups within the test. Only its key keeps it one.
  server.contactsVisibleAfterMs = 600_000;
  server.latencyMs = 20;
  const queue = queueOf({ missingContacts: "create" });
  const results: QueueDeliveryResult[] = [];
  const workers = await twoWorkers(results);
  const rows: QueueRow[] = Array.from({ length: 30 }, (_, i) => ({
    key: `new-${i}`,
    accountToken: A,
    model: { subject: `new ${i}`, contacts: [{ email: "brand.new@example.com", first_name: "Brand", last_name: "New" }, { email: "ada@example.com" }] },
  }));
  expect((await queue.enqueueMany(rows)).every((result) => result.status === "queued")).toBe(true);
  await until("30 completed jobs", settled(queue, 30, 0));

  expect(workers.map((worker) => worker.stats().created).every((created) => created > 0)).toBe(true);
  expect(results.filter((result) => result.outcome === "created")).toHaveLength(30);
  // Each worker created the contact (its lookup found none), under one key: Merge stored one.
  const creates = server.contactCreates(A);
  expect(new Set(creates.map((a) => a.headers.authorization))).toEqual(new Set(["Bearer worker-one", "Bearer worker-two"]));
  expect(new Set(creates.map((a) => a.idempotencyKey)).size).toBe(1);
  expect(creates.every((a) => a.status === 201)).toBe(true);
  expect(server.storedContacts.size).toBe(1);
  const contactId = [...server.storedContacts.values()][0]?.id;
  expect(server.stored.size).toBe(30);
  expect(writes()).toHaveLength(30);
  expect(new Set(writes().map((a) => a.idempotencyKey)).size).toBe(30);
  expect(new Set(writes().map((a) => JSON.stringify(JSON.parse(a.body).model.contacts)))).toEqual(new Set([JSON.stringify([contactId, id(1)])]));
});

// The contact's key is derived from the account, the email as matched (trimmed, lower case) and the
// names; the body carries exactly those, so two processes whose rows spell the email in two cases
// send one key with one body: Merge replays, one contact.
test("two workers creating one unknown email, spelt in two cases by their rows, make one contact and deliver every job", async () => {
  server.contactsVisibleAfterMs = 600_000;
  const results: QueueDeliveryResult[] = [];
  // One queue and one worker per spelling, so that each worker's create carries its own.
  const spellings = ["Brand.New@Example.COM", "brand.new@example.com"];
  const queues = spellings.map((_, i) => queueOf({ name: `${queueName}-${i}`, missingContacts: "create" }));
  for (const [i, queue] of queues.entries()) {
    await workerOf(results, { name: queue.name, apiKey: `worker-${i}` });
    await queue.enqueueMany(Array.from({ length: 5 }, (_, j) => ({ key: `case-${i}-${j}`, accountToken: A, model: { subject: `case ${i} ${j}`, contacts: [{ email: spellings[i] ?? "" }] } })));
  }
  await until("10 finished jobs", () => results.length === 10);
  expect(server.contactCreates(A).map((a) => a.status)).toEqual([201, 201]);
  expect(results.filter((result) => result.outcome === "created")).toHaveLength(10);
  expect(server.storedContacts.size).toBe(1);
});

test("lookups are cached over a worker's jobs: 100 jobs over 2 accounts naming 3 emails, 1 owner, 1 company and CALL make a handful of lookups per account", async () => {
  const emails = ["ada@example.com", "GRACE@example.com", "g.hopper@example.org"];
  const queue = queueOf();
  const rows: QueueRow[] = Array.from({ length: 100 }, (_, i) => ({
    key: `r${i}`,
    accountToken: i % 2 === 0 ? A : B,
    model: { subject: `r${i}`, contacts: [{ email: emails[i % 3] ?? "" }], owner: { email: "rep@example.com" }, account: { name: "Acme Inc" }, engagement_type: { activity_type: "CALL" } },
  }));
  await queue.enqueueMany(rows);
  const results: QueueDeliveryResult[] = [];
  await workerOf(results);
  await until("100 completed jobs", settled(queue, 100, 0));

  expect(server.stored.size).toBe(100);
  for (const [token, offset] of [[A, 0], [B, 100]] as const) {
    const paths = server.lookups(token).map((arrival) => arrival.url.split("?")[0]);
    // The emails in one batch or a few (jobs start at different times), the users' one page, the name, the types' one page.
    expect(paths.length).toBeLessThanOrEqual(6);
    expect(new Set(paths)).toEqual(new Set(["/crm/v1/accounts", "/crm/v1/contacts", "/crm/v1/engagement-types", "/crm/v1/users"]));
    const models = writes().filter((a) => a.account === token).map((a) => JSON.parse(a.body).model);
    expect(models).toHaveLength(50);
    for (const model of models) {
      expect(model).toMatchObject({ owner: id(offset + 11), account: id(offset + 21), engagement_type: id(offset + 31) });
      expect([[id(offset + 1)], [id(offset + 2)]]).toContainEqual(model.contacts);
    }
  }
});

test("a lookup that fails is retried by BullMQ as an attempt of its job: once, and the job is delivered; every time, and the job ends failed after its attempts, never sent", async () => {
  let failedOnce = false;
  server.answer = (arrival) => {
    if (arrival.method !== "GET" || !arrival.url.startsWith("/crm/v1/accounts")) return undefined;
    if (arrival.account === B) return { status: 500, body: '{"detail":"down"}' };
    if (failedOnce) return undefined;
    failedOnce = true;
    return { status: 503, body: '{"detail":"busy"}' };
  };
  const queue = queueOf({ attempts: 2 });
  await queue.enqueueMany([
    { key: "once", accountToken: A, model: { subject: "once", account: { name: "Acme Inc" } } },
    { key: "always", accountToken: B, model: { subject: "always", account: { name: "Acme Inc" } } },
  ]);
  const results: QueueDeliveryResult[] = [];
  const worker = await workerOf(results);
  await until("1 job completed and 1 failed", settled(queue, 1, 1));

  expect(sentBySubject()).toEqual({ once: { subject: "once", account: id(21) } });
  expect(server.lookups(A).map((a) => a.status)).toEqual([503, 200]);
  expect(server.lookups(B).map((a) => a.status)).toEqual([500, 500]);
  expect(worker.stats()).toMatchObject({ created: 1, failed: 1, retried: 2 });
  const [failed] = await queue.failedJobs();
  expect(failed).toMatchObject({ key: "always", attemptsMade: 2 });
  expect(failed?.reason).toMatch(/^Failed: MergeServerError 500: .*GET .*\/crm\/v1\/accounts/);
  expect(byKey(results)["always"]).toMatchObject({ outcome: "failed", error: { status: 500, writeMayHaveHappened: false } });
});

test("enqueue checks a malformed reference as MergeValidationError naming its pointer, without a lookup", async () => {
  const queue = queueOf();
  const error = await queue.enqueue({ key: "bad", accountToken: A, model: { subject: "bad", account: { title: "Acme" } as never } }).catch((e: unknown) => e);
  expect(isMergeValidationError(error)).toBe(true);
  expect((error as MergeValidationError).problems).toEqual([expect.objectContaining({ pointer: "/model/account", message: expect.stringContaining('"title"') })]);
  expect(await queue.counts()).toMatchObject({ waiting: 0 });
  expect(server.arrivals).toHaveLength(0);
});
