/**
 * bulkCreate against a real local HTTP server that stores writes by Idempotency-Key: exactly once across
 * reruns and crashes, rejections before sending, 4xx recorded and not retried, transient failures retried
 * with the same key, abort, dry runs, and no token anywhere in results or the journal.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { getEventListeners } from "node:events";
import { join } from "node:path";
import { bulkCreate, idempotencyKeyFor, openJournal, readJournal, type BulkRow, type BulkRowResult } from "../../src/bulk/index.js";
import { accountName } from "../../src/delivery/keys.js";
import { createMergeCrmClient, type ClientOptions, type Logger } from "../../src/index.js";
import { OUTBOUND_ONLY_META, useFakeMerge } from "../support/fake-merge.js";

const { server, dir } = useFakeMerge("bulk-test-");

const API_KEY = "sk_bulk_secret_api_key";
const TOKEN_A = "acct_token_alpha_secret";
const TOKEN_B = "acct_token_bravo_secret";
const quiet: Logger = {};

function client(options: Partial<ClientOptions> = {}) {
  return createMergeCrmClient({ apiKey: API_KEY, baseUrl: server.url, logger: quiet, ...options });
}

function rows(count: number, token = TOKEN_A, extra: (i: number) => Partial<BulkRow> = () => ({})): BulkRow[] {
  return Array.from({ length: count }, (_, i) => ({ model: { subject: `Call ${i}`, direction: "OUTBOUND" }, accountToken: token, line: i + 1, ...extra(i) }));
}

/** Every result, by outcome. */
function collect() {
  const results: BulkRowResult[] = [];
  return { results, onResult: (r: BulkRowResult) => void results.push(r), by: (outcome: string) => results.filter((r) => r.outcome === outcome) };
}

const fast = { ratePerMinute: 60_000 } as const;

test("creates every row once; a rerun with the journal sends nothing and reports each row done before, with its id", async () => {
  const journal = join(dir(), "run.journal");
  const input = [...rows(30, TOKEN_A), ...rows(30, TOKEN_B)];
  const first = collect();
  const summary = await bulkCreate(client(), input, { ...fast, journal, onResult: first.onResult });
  expect(summary).toMatchObject({ rows: 60, created: 60, doneBefore: 0, rejected: 0, failed: 0 });
  expect(server.stored.size).toBe(60);
  expect(server.posts()).toHaveLength(60);
  expect(new Set(first.results.map((r) => r.account))).toEqual(new Set([accountName(TOKEN_A), accountName(TOKEN_B)]));

  server.arrivals.length = 0;
  const second = collect();
  const again = await bulkCreate(client(), input, { ...fast, journal, onResult: second.onResult });
  expect(again).toMatchObject({ rows: 60, created: 0, doneBefore: 60 });
  expect(server.posts()).toHaveLength(0);
  const ids = new Map(first.results.map((r) => [`${r.account}/${r.key}`, r.id]));
  for (const r of second.results) {
    expect(r).toMatchObject({ outcome: "done-before", before: "created", attempts: 0 });
    expect(r.id).toBe(ids.get(`${r.account}/${r.key}`));
  }
  const { counts, results } = await readJournal(journal);
  expect(counts).toMatchObject({ created: 60, failed: 0 });
  expect(results).toHaveLength(60);
});

test("a run killed mid-way (journal holds only 'sent' records for rows in flight): the rerun resends them with the same key and Merge replays, each row written once", async () => {
  const journal = join(dir(), "crash.journal");
  const input = rows(20);
  // The first run got through 10 rows; then the process died with 5 more sent (stored by Merge) and no answer recorded.
  await bulkCreate(client(), input.slice(0, 10), { ...fast, journal });
  const open = await openJournal(journal);
  for (const row of input.slice(10, 15)) {
    const key = (await keyOf(row))!;
    const idempotencyKey = idempotencyKeyFor(TOKEN_A, key);
    // A row's model may name references; these rows name none, so `resolve` gives it back as it is.
    const model = await client().engagements.resolve(row.model, { accountToken: TOKEN_A });
    await client().engagements.create(model, { accountToken: TOKEN_A, idempotencyKey });
    open.record({ account: accountName(TOKEN_A), key, outcome: "failed", attempts: 1, sentAt: new Date().toISOString(), error: { name: "Interrupted", message: "sent", writeMayHaveHappened: true } });
  }
  await open.close();
  expect(server.stored.size).toBe(15);

  server.arrivals.length = 0;
  const summary = await bulkCreate(client(), input, { ...fast, journal });
  expect(summary).toMatchObject({ rows: 20, created: 10, doneBefore: 10 });
  expect(server.posts()).toHaveLength(10); // the 5 in flight (replayed) and the 5 never sent
  expect(server.stored.size).toBe(20);
});

/** The key bulkCreate derives for a row without one: run it dry and read the result. */
async function keyOf(row: BulkRow): Promise<string | undefined> {
  let key: string | undefined;
  await bulkCreate(client(), [row], { dryRun: true, onResult: (r) => (key = r.key) });
  return key;
}

test("a row that may have been written and was first sent more than 23 h ago is not resent: Merge forgot its key", async () => {
  const journal = join(dir(), "stale.journal");
  const open = await openJournal(journal);
  const dayAgo = new Date(Date.now() - 24 * 3_600_000).toISOString();
  open.record({ account: accountName(TOKEN_A), key: "row-1", outcome: "failed", attempts: 1, sentAt: dayAgo, error: { name: "Interrupted", message: "sent", writeMayHaveHappened: true } });
  // Failed without any chance of a write (a 429): safe to send, however old.
  open.record({ account: accountName(TOKEN_A), key: "row-2", outcome: "failed", attempts: 5, sentAt: dayAgo, error: { name: "MergeRateLimitError", message: "429", status: 429, writeMayHaveHappened: false } });
  await open.close();
  const { results, onResult } = collect();
  const summary = await bulkCreate(client(), rows(2, TOKEN_A, (i) => ({ key: `row-${i + 1}` })), { ...fast, journal, onResult });
  expect(summary).toMatchObject({ rows: 2, created: 1, failed: 1 });
  expect(results.find((r) => r.key === "row-1")).toMatchObject({ outcome: "failed", attempts: 0, sentAt: dayAgo, error: { name: "StaleIdempotencyKey", writeMayHaveHappened: true } });
  expect(server.posts()).toHaveLength(1);
});

test("before each run's first send of a row, the journal says it may be written (a crash then must not lead to a blind resend after 24 h)", async () => {
  const journal = join(dir(), "intent.journal");
  const open = await openJournal(journal);
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  // An earlier run: only 429s, so nothing was written and the record says so.
  open.record({ account: accountName(TOKEN_A), key: "row-1", outcome: "failed", attempts: 5, sentAt: hourAgo, error: { name: "MergeRateLimitError", message: "429", status: 429, writeMayHaveHappened: false } });
  await open.close();
  const seen: unknown[] = [];
  server.decide = () => {
    const lines = readFileSync(journal, "utf8").trim().split("\n");
    seen.push(JSON.parse(lines.at(-1) ?? "null"));
    return "store";
  };
  await bulkCreate(client(), rows(1, TOKEN_A, () => ({ key: "row-1" })), { ...fast, journal });
  expect(seen).toEqual([expect.objectContaining({ key: "row-1", outcome: "failed", sentAt: hourAgo, error: expect.objectContaining({ writeMayHaveHappened: true }) })]);
  expect((await readJournal(journal)).results).toEqual([expect.objectContaining({ outcome: "created", sentAt: hourAgo })]);
});

test("a row failed by a 503 then 429s is journaled as possibly written (the 429 does not undo the 503)", async () => {
  const journal = join(dir(), "maybe.journal");
  let n = 0;
  server.decide = () => (n++ === 0 ? { status: 503 } : { status: 429, retryAfter: "0" });
  const { results, onResult } = collect();
  await bulkCreate(client(), rows(1), { ...fast, journal, onResult, maxAttempts: 3 });
  expect(results[0]).toMatchObject({ outcome: "failed", attempts: 3, error: { status: 429, writeMayHaveHappened: true } });
  expect((await readJournal(journal)).results[0]?.error?.writeMayHaveHappened).toBe(true);
});

test("rows that break the spec are rejected before sending, with their problems, and never reach Merge; nor on a rerun", async () => {
  const journal = join(dir(), "reject.journal");
  const input: BulkRow[] = [
    { model: { subject: "ok", direction: "INBOUND" }, accountToken: TOKEN_A, line: 1 },
    { model: { subject: "bad", direction: "SIDEWAYS" as "INBOUND" }, accountToken: TOKEN_A, line: 2 },
    { model: { subject: 42 as unknown as string }, accountToken: TOKEN_A, line: 3 },
    { accountToken: TOKEN_A, line: 4 } as unknown as BulkRow,
    { model: {}, accountToken: "", line: 5 },
  ];
  const { results, onResult, by } = collect();
  const summary = await bulkCreate(client(), input, { ...fast, journal, onResult });
  expect(summary).toMatchObject({ rows: 5, created: 1, rejected: 4 });
  expect(server.posts()).toHaveLength(1);
  expect(by("rejected").map((r) => r.line).sort()).toEqual([2, 3, 4, 5]);
  expect(results.find((r) => r.line === 2)?.problems?.[0]?.pointer).toBe("/model/direction");
  expect(results.find((r) => r.line === 3)?.problems?.[0]?.pointer).toBe("/model/subject");
  expect(results.find((r) => r.line === 4)?.problems).toEqual([{ pointer: "/model", message: "is required" }]);
  expect(results.find((r) => r.line === 5)?.problems?.[0]?.pointer).toBe("/accountToken");
  for (const r of by("rejected")) expect(r.attempts).toBe(0);

  const rerun = collect();
  await bulkCreate(client(), input, { ...fast, journal, onResult: rerun.onResult });
  expect(server.posts()).toHaveLength(1);
  expect(rerun.results.find((r) => r.line === 2)).toMatchObject({ outcome: "done-before", before: "rejected" });
});

test("with accountValidation, rows the linked account's CRM would refuse are rejected up front too, by pointer", async () => {
  server.meta = OUTBOUND_ONLY_META;
  const merge = client({ accountValidation: "strict" });
  const { results, onResult } = collect();
  const input: BulkRow[] = [
    { model: { subject: "ok", direction: "OUTBOUND" }, accountToken: TOKEN_A, line: 1 },
    { model: { direction: "OUTBOUND" }, accountToken: TOKEN_A, line: 2 },
    { model: { subject: "in", direction: "INBOUND" }, accountToken: TOKEN_A, line: 3 },
  ];
  const summary = await bulkCreate(merge, input, { ...fast, onResult });
  expect(summary).toMatchObject({ created: 1, rejected: 2 });
  expect(server.posts()).toHaveLength(1);
  expect(results.find((r) => r.line === 2)?.problems?.[0]?.pointer).toBe("/model/subject");
  expect(results.find((r) => r.line === 3)?.problems?.[0]?.pointer).toBe("/model/direction");
});

test("a 4xx answer is recorded rejected with its status and not retried; a 409 too", async () => {
  server.decide = ({ body }) => (body.includes("Call 3") ? { status: 422 } : body.includes("Call 5") ? { status: 409 } : "store");
  const journal = join(dir(), "4xx.journal");
  const { by, onResult } = collect();
  const summary = await bulkCreate(client(), rows(8), { ...fast, journal, onResult });
  expect(summary).toMatchObject({ rows: 8, created: 6, rejected: 2 });
  expect(by("rejected").map((r) => [r.line, r.error?.status, r.attempts])).toEqual(expect.arrayContaining([[4, 422, 1], [6, 409, 1]]));
  expect(server.posts()).toHaveLength(8);
  expect((await readJournal(journal)).counts).toMatchObject({ created: 6, rejected: 2 });
});

test("transient failures (503, 408, 429) are retried with the same Idempotency-Key until they succeed; past maxAttempts the row fails and the next run sends it again", async () => {
  const answers = new Map<string, number>();
  server.decide = ({ key }) => {
    const n = (answers.get(key ?? "") ?? 0) + 1;
    answers.set(key ?? "", n);
    if (n === 1) return { status: 503 };
    if (n === 2) return { status: 429, retryAfter: "0" };
    if (n === 3) return { status: 408 };
    return "store";
  };
  const journal = join(dir(), "transient.journal");
  const { results, onResult } = collect();
  const summary = await bulkCreate(client(), rows(3), { ...fast, journal, onResult, maxAttempts: 4 });
  expect(summary).toMatchObject({ created: 3, failed: 0 });
  for (const r of results) expect(r.attempts).toBe(4);
  const byKey = new Map<string, number>();
  for (const a of server.posts()) byKey.set(a.idempotencyKey ?? "", (byKey.get(a.idempotencyKey ?? "") ?? 0) + 1);
  expect([...byKey.values()]).toEqual([4, 4, 4]);

  // Always 503: two attempts, then failed; the next run sends it again, with the same key.
  server.reset();
  server.decide = () => ({ status: 503 });
  const failing = collect();
  const failed = await bulkCreate(client(), rows(1, TOKEN_B), { ...fast, journal, onResult: failing.onResult, maxAttempts: 2 });
  expect(failed).toMatchObject({ failed: 1 });
  expect(failing.results[0]).toMatchObject({ outcome: "failed", attempts: 2, error: { status: 503, writeMayHaveHappened: true } });
  const key = server.posts()[0]?.idempotencyKey;
  server.reset();
  const retried = await bulkCreate(client(), rows(1, TOKEN_B), { ...fast, journal });
  expect(retried).toMatchObject({ created: 1 });
  expect(server.posts().map((a) => a.idempotencyKey)).toEqual([key]);
});

test("identical rows without keys stay distinct; the same input maps to the same keys in every run", async () => {
  const same = Array.from({ length: 3 }, (): BulkRow => ({ model: { subject: "Same call", direction: "INBOUND" }, accountToken: TOKEN_A }));
  const first = collect();
  await bulkCreate(client(), same, { ...fast, onResult: first.onResult });
  expect(server.stored.size).toBe(3);
  const second = collect();
  await bulkCreate(client(), same, { ...fast, onResult: second.onResult });
  expect(server.stored.size).toBe(3); // replayed: same keys
  expect(second.results.map((r) => r.key).sort()).toEqual(first.results.map((r) => r.key).sort());
  expect(first.results.map((r) => r.key.replace(/^auto:[0-9a-f]{32}:/, "")).sort()).toEqual(["1", "2", "3"]);
});

test("two rows with the same key in one run: the second waits for the first and is done before, one write", async () => {
  const journal = join(dir(), "dup.journal");
  const input = rows(2, TOKEN_A, () => ({ key: "same" }));
  const { results, onResult } = collect();
  await bulkCreate(client(), input, { ...fast, journal, onResult });
  expect(server.posts()).toHaveLength(1);
  expect(results.map((r) => r.outcome)).toEqual(["created", "done-before"]);
});

test("abort: no more rows are taken, those in flight finish, the summary says aborted; one listener on the signal", async () => {
  server.latencyMs = 100;
  const controller = new AbortController();
  let listeners = 0;
  const taken: number[] = [];
  async function* input() {
    for (let i = 0; i < 1_000; i++) {
      taken.push(i);
      listeners = Math.max(listeners, getEventListeners(controller.signal, "abort").length);
      yield { model: { subject: `Call ${i}` }, accountToken: TOKEN_A, key: `k${i}` };
    }
  }
  setTimeout(() => controller.abort(), 300);
  const { results, onResult } = collect();
  const summary = await bulkCreate(client(), input(), { ratePerMinute: 6_000, signal: controller.signal, onResult, bufferSize: 50 });
  expect(summary.stopped).toBe("aborted");
  expect(summary.rows).toBe(results.length);
  expect(summary.created).toBe(server.stored.size);
  expect(summary.created).toBeGreaterThan(0);
  expect(summary.failed).toBe(0);
  expect(taken.length).toBeLessThan(summary.rows + 60); // the buffer bounds what is read ahead
  expect(listeners).toBe(1);
  expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
});

test("after the failure guard stops a run, the rows it never sent have no result; the next run sends them, and skips the rejected", async () => {
  server.decide = () => ({ status: 400 });
  const journal = join(dir(), "guard.journal");
  const input = rows(100);
  const first = await bulkCreate(client(), input, { ...fast, journal });
  expect(first).toMatchObject({ rows: 20, rejected: 20 });
  expect(first.stopped).toMatch(/^failure guard/);
  server.reset();
  const second = await bulkCreate(client(), input, { ...fast, journal });
  expect(second).toMatchObject({ rows: 100, doneBefore: 20, created: 80 });
  expect(second.stopped).toBeUndefined();
  expect(server.stored.size).toBe(80);
});

test("a run stopped while rows wait to retry settles them failed with their last error; the next run sends them again", async () => {
  server.decide = () => ({ status: 503 });
  const controller = new AbortController();
  const journal = join(dir(), "retry-abort.journal");
  const { results, onResult } = collect();
  setTimeout(() => controller.abort(), 200);
  const summary = await bulkCreate(client(), rows(3), { ...fast, journal, onResult, signal: controller.signal, maxAttempts: 10 });
  expect(summary).toMatchObject({ rows: 3, failed: 3, stopped: "aborted" });
  for (const r of results) expect(r).toMatchObject({ outcome: "failed", error: { status: 503, writeMayHaveHappened: true } });
  server.reset();
  expect(await bulkCreate(client(), rows(3), { ...fast, journal })).toMatchObject({ created: 3 });
});

test("an input that throws mid-way stops the run like an abort: requests in flight finish and are journaled, the journal is closed, and bulkCreate rejects with the input's error", async () => {
  const journal = join(dir(), "input.journal");
  async function* input() {
    yield* rows(5);
    // A file read on while the first writes are in flight.
    while (server.posts().length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    throw new Error("line 6: not JSON");
  }
  await expect(bulkCreate(client(), input(), { ...fast, journal })).rejects.toThrow("line 6: not JSON");
  const { counts } = await readJournal(journal);
  expect(counts.created).toBe(server.stored.size);
  expect(counts.created).toBeGreaterThanOrEqual(1);
  await expect(openJournal(journal).then((j) => j.close())).resolves.toBeUndefined(); // the lock was released
});

test("an onResult that throws is reported to logger.error and the run goes on", async () => {
  const errors: string[] = [];
  const summary = await bulkCreate(client(), rows(3), {
    ...fast,
    logger: { error: (message) => errors.push(message) },
    onResult: () => {
      throw new Error("render failed");
    },
  });
  expect(summary.created).toBe(3);
  expect(errors).toHaveLength(3);
  expect(errors[0]).toMatch(/onResult threw .*render failed/);
});

test("dry run: validates every row, sends nothing, journals nothing", async () => {
  const journal = join(dir(), "dry.journal");
  const input: BulkRow[] = [...rows(5), { model: { direction: "SIDEWAYS" as "INBOUND" }, accountToken: TOKEN_A }];
  const summary = await bulkCreate(client(), input, { journal, dryRun: true });
  expect(summary).toMatchObject({ rows: 6, valid: 5, rejected: 1, created: 0 });
  expect(server.posts()).toHaveLength(0);
  expect(() => readFileSync(journal)).toThrow();
});

test("no token and no API key in results, the journal, or logs", async () => {
  server.decide = ({ body }) => (body.includes("Call 1") ? { status: 400 } : body.includes("Call 2") ? { status: 503 } : "store");
  const journal = join(dir(), "secret.journal");
  const logged: string[] = [];
  const logger: Logger = { info: (m, d) => logged.push(m, JSON.stringify(d ?? {})), warn: (m, d) => logged.push(m, JSON.stringify(d ?? {})) };
  const { results, onResult } = collect();
  await bulkCreate(client({ logger }), rows(4), { ...fast, journal, onResult, logger, maxAttempts: 2 });
  const everything = [JSON.stringify(results), readFileSync(journal, "utf8"), ...logged].join("\n");
  for (const secret of [API_KEY, TOKEN_A]) expect(everything).not.toContain(secret);
});

test("options are checked: bad numbers and plans reject with MergeValidationError before anything is read", async () => {
  let read = false;
  const input = { *[Symbol.iterator]() { read = true; yield* rows(1); } };
  await expect(bulkCreate(client(), input, { ratePerMinute: "fast" as "launch", concurrency: 0, failureGuard: "loose" as "strict" })).rejects.toMatchObject({
    name: "MergeValidationError",
    problems: [{ pointer: "/ratePerMinute" }, { pointer: "/concurrency" }, { pointer: "/failureGuard", message: 'must be "adaptive" or "strict"' }],
  });
  expect(read).toBe(false);
});

test("a journal in use by a live process is refused; a lock left by a dead one is taken over; a file that is no journal is refused", async () => {
  const journal = join(dir(), "locked.journal");
  const open = await openJournal(journal);
  await expect(bulkCreate(client(), rows(1), { journal })).rejects.toMatchObject({ name: "MergeBulkJournalError" });
  await open.close();
  writeFileSync(`${journal}.lock`, "999999999\n");
  await expect(bulkCreate(client(), rows(1), { ...fast, journal })).resolves.toMatchObject({ created: 1 });
  const csv = join(dir(), "rows.csv");
  writeFileSync(csv, "subject,direction\nCall,INBOUND\n");
  await expect(bulkCreate(client(), rows(1), { journal: csv })).rejects.toThrow(/not a bulk journal/);
  expect(readFileSync(csv, "utf8")).toBe("subject,direction\nCall,INBOUND\n");
});
