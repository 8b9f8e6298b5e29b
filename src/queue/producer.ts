/**
 * Producers: `createEngagementQueue` checks each row against the spec before it enters the
 * queue, seals its token, and adds its job under the id of (account, key), so a producer that retries
 * adds one job. A row whose delivery is on record (created or rejected) is not added again. Every
 * command has a deadline: with Redis down, `enqueue` rejects with `MergeQueueUnavailableError`; it
 * never hangs, and never resolves unless Redis confirmed the job.
 */
import type { JobsOptions } from "bullmq";
import { missingContactsProblems } from "../delivery/deliver-row.js";
import { createMergeCrmClient, MergeValidationError, type ValidationIssue } from "../index.js";
import { RowKeys } from "../delivery/keys.js";
import { tokenCipher, type TokenCipher } from "./cipher.js";
import { openRedis } from "./connection.js";
import { doneKey, readRecord } from "./done-store.js";
import { MergeQueueConfigError, MergeQueueUnavailableError } from "./errors.js";
import { suspensionReason } from "../delivery/account-health.js";
import { healthKey, heldKey, SUSPENDED_ACCOUNTS } from "./gate.js";
import { accountOf, BACKOFF_TYPE, DEFAULT_QUEUE, JOB_NAME, jobIdOf, readJobData, type JobData } from "./jobs.js";
import { bullmq } from "./peers.js";
import type { EngagementQueue, EngagementQueueOptions, EnqueueManyResult, EnqueueResult, FailedJob, QueueRow, SuspendedQueueAccount } from "./types.js";
import { messageOf } from "../internal/errors.js";

const DAY_MS = 86_400_000;
/** Rows checked and added per round trip by `enqueueMany`. */
const BATCH = 500;

/**
 * Opens a producer's handle on the queue.
 * @example
 * import { createEngagementQueue } from "merge-crm-engagements/queue";
 * const queue = createEngagementQueue({ connection: process.env.REDIS_URL! }); // MERGE_QUEUE_SECRET seals tokens
 * await queue.enqueue({ model: { subject: "Call", direction: "OUTBOUND" }, accountToken, key: `call-${call.id}` });
 */
export function createEngagementQueue(options: EngagementQueueOptions): EngagementQueue {
  const name = options.name ?? DEFAULT_QUEUE;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const keepCompletedMs = Math.max(DAY_MS, options.keepCompletedMs ?? DAY_MS);
  const keepFailedMs = options.keepFailedMs ?? 7 * DAY_MS;
  const attempts = options.attempts ?? 5;
  const problems: ValidationIssue[] = [];
  if (typeof name !== "string" || !/^[\w.-]{1,100}$/.test(name)) problems.push({ pointer: "/name", message: "must be 1 to 100 letters, digits, '.', '_' or '-'" });
  if (!Number.isInteger(attempts) || attempts < 1) problems.push({ pointer: "/attempts", message: "must be a whole number >= 1" });
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) problems.push({ pointer: "/timeoutMs", message: "must be a number > 0" });
  problems.push(...missingContactsProblems(options.missingContacts, "/missingContacts"));
  if (problems.length > 0) throw new MergeValidationError(problems);

  const secret = options.secret ?? process.env["MERGE_QUEUE_SECRET"];
  // A secret too short is refused now, not at the first row that needs it.
  const cipher: TokenCipher | undefined = secret === undefined || secret === "" ? undefined : tokenCipher(secret);
  const cipherOf = (): TokenCipher => {
    if (!cipher) throw new MergeQueueConfigError("A row carries an account token, and no secret seals it: set MERGE_QUEUE_SECRET (or the secret option), or give rows an accountRef");
    return cipher;
  };
  const connection = openRedis(options.connection, false);
  const queue = new bullmq.Queue(name, { connection: connection.redis, skipWaitingForReady: true });
  queue.on("error", () => {}); // reported by the command that failed
  // Spec checks only: nothing is sent by this client.
  const checker = createMergeCrmClient({ apiKey: "queue-producer", baseUrl: "http://127.0.0.1:9", accountValidation: "off" });
  const jobOptions = (jobId: string): JobsOptions => ({
    jobId,
    attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: Math.ceil(keepCompletedMs / 1000) },
    removeOnFail: { age: Math.ceil(keepFailedMs / 1000) },
  });

  const deadline = <T>(what: string, promise: Promise<T>, sent: boolean): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new MergeQueueUnavailableError(`Redis did not confirm ${what} within ${timeoutMs} ms`, { mayHaveBeenEnqueued: sent })),
        timeoutMs,
      );
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (cause: unknown) => {
          clearTimeout(timer);
          reject(new MergeQueueUnavailableError(`Redis refused ${what}: ${messageOf(cause)}`, { mayHaveBeenEnqueued: sent, cause }));
        },
      );
    });

  /** A row checked and named, or its problems. */
  const prepare = async (row: QueueRow, keys: RowKeys): Promise<{ result: EnqueueResult; data: JobData } | { problems: ValidationIssue[] }> => {
    const shape = shapeProblems(row);
    if (shape.length > 0) return { problems: shape };
    const token = row.accountToken;
    const spec = await checker.engagements.validateCreate(row.model, { accountToken: token ?? "account-ref" });
    if (spec.length > 0) return { problems: spec };
    const account = accountOf(row);
    const key = row.key ?? keys.derive(account, row.model);
    const jobId = jobIdOf(account, key);
    const data: JobData = { v: 1, account, key, model: row.model };
    if (row.line !== undefined) data.line = row.line;
    const missingContacts = row.missingContacts ?? options.missingContacts;
    if (missingContacts !== undefined) data.missingContacts = missingContacts;
    if (row.accountRef !== undefined) data.accountRef = row.accountRef;
    else if (token !== undefined) data.token = await cipherOf().seal(token, jobId);
    const result: EnqueueResult = { jobId, account, key, status: "queued" };
    if (row.line !== undefined) result.line = row.line;
    return { result, data };
  };

  /** Adds the prepared rows' jobs, except those with a delivery on record. */
  const add = async (prepared: Array<{ result: EnqueueResult; data: JobData }>): Promise<void> => {
    if (prepared.length === 0) return;
    const lookup = connection.redis.pipeline();
    for (const { result } of prepared) lookup.get(doneKey(name, result.account, result.key));
    const records = await deadline("the lookup of delivered rows", lookup.exec(), false);
    const fresh = prepared.filter((row, i) => {
      const [error, record] = records?.[i] ?? [new Error("no answer")];
      if (error) throw new MergeQueueUnavailableError(`Redis refused the lookup of delivered rows: ${error.message}`, { mayHaveBeenEnqueued: false, cause: error });
      // Only a final outcome: a row that failed, or is in flight, is still to be delivered.
      const outcome = readRecord(typeof record === "string" ? record : undefined)?.outcome;
      const final = outcome === "created" || outcome === "rejected";
      if (final) row.result.status = "delivered-before";
      return !final;
    });
    if (fresh.length === 0) return;
    await deadline(
      fresh.length === 1 ? "the job" : `${fresh.length} jobs`,
      queue.addBulk(fresh.map(({ result, data }) => ({ name: JOB_NAME, data, opts: jobOptions(result.jobId) }))),
      true,
    );
  };

  return {
    name,
    async enqueue(row) {
      const prepared = await prepare(row, new RowKeys());
      if ("problems" in prepared) throw new MergeValidationError(prepared.problems);
      await add([prepared]);
      return prepared.result;
    },
    async enqueueMany(rows) {
      const keys = new RowKeys();
      const results: EnqueueManyResult[] = [];
      let batch: Array<{ result: EnqueueResult; data: JobData }> = [];
      for await (const row of rows) {
        const prepared = await prepare(row, keys);
        if ("problems" in prepared) {
          const rejected: EnqueueManyResult = { status: "rejected", problems: prepared.problems };
          if (typeof row?.line === "number") rejected.line = row.line;
          if (typeof row?.key === "string") rejected.key = row.key;
          results.push(rejected);
          continue;
        }
        results.push(prepared.result);
        batch.push(prepared);
        if (batch.length >= BATCH) {
          await add(batch);
          batch = [];
        }
      }
      await add(batch);
      return results;
    },
    async counts() {
      const counts = await deadline("the counts", queue.getJobCounts("waiting", "delayed", "active", "completed", "failed", "prioritized"), false);
      return {
        waiting: (counts["waiting"] ?? 0) + (counts["prioritized"] ?? 0),
        delayed: counts["delayed"] ?? 0,
        active: counts["active"] ?? 0,
        completed: counts["completed"] ?? 0,
        failed: counts["failed"] ?? 0,
      };
    },
    async failedJobs(limit = 100) {
      const jobs = await deadline("the failed jobs", queue.getFailed(0, Math.max(0, limit - 1)), false);
      const records = jobs.length === 0 ? [] : await deadline("the failed jobs' records", connection.redis.mget(...jobs.map((job) => {
        const data = readJobData(job.data);
        return typeof data === "string" ? "mce:none" : doneKey(name, data.account, data.key);
      })), false);
      return jobs.map((job, i): FailedJob => {
        const data = readJobData(job.data);
        const failed: FailedJob = {
          jobId: job.id ?? "",
          account: typeof data === "string" ? "" : data.account,
          key: typeof data === "string" ? "" : data.key,
          reason: job.failedReason ?? "",
          attemptsMade: job.attemptsMade,
        };
        if (typeof data !== "string" && data.line !== undefined) failed.line = data.line;
        const problems = readRecord(records[i])?.problems;
        if (problems) failed.problems = problems;
        if (job.finishedOn !== undefined) failed.failedAt = new Date(job.finishedOn).toISOString();
        return failed;
      });
    },
    async suspendedAccounts() {
      const redis = connection.redis;
      const accounts = await deadline("the suspended accounts", redis.zrange(SUSPENDED_ACCOUNTS, 0, 999), false);
      if (accounts.length === 0) return [];
      const read = redis.pipeline();
      for (const account of accounts) read.hmget(healthKey(account), "susp", "detail", "count", "since", "probeAt").scard(heldKey(name, account));
      const answers = (await deadline("the suspended accounts' records", read.exec(), false)) ?? [];
      const out: SuspendedQueueAccount[] = [];
      accounts.forEach((account, i) => {
        const fields = answers[2 * i]?.[1];
        const held = answers[2 * i + 1]?.[1];
        if (!Array.isArray(fields) || fields[0] !== "1") return; // resumed since the index was read
        const [, detail, count, since, probeAt] = fields.map((f: unknown) => (typeof f === "string" ? f : ""));
        out.push({
          account,
          reason: suspensionReason(detail ?? "", Number(count)),
          since: new Date(Number(since)).toISOString(),
          nextProbeAt: new Date(Number(probeAt)).toISOString(),
          jobsHeld: typeof held === "number" ? held : 0,
        });
      });
      return out;
    },
    async close() {
      await queue.close().catch(() => {});
      await connection.close();
    },
  };
}

/** What is wrong with a row's shape (its model: the spec says). */
function shapeProblems(row: unknown): ValidationIssue[] {
  if (typeof row !== "object" || row === null) return [{ pointer: "", message: "must be an object { model, accountToken?, accountRef?, key?, line? }" }];
  const problems: ValidationIssue[] = [];
  const field = (name: string): unknown => Reflect.get(row, name);
  if (typeof field("model") !== "object" || field("model") === null) problems.push({ pointer: "/model", message: "is required (an object)" });
  for (const name of ["key", "accountToken", "accountRef"]) {
    const value = field(name);
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) problems.push({ pointer: `/${name}`, message: "must be a non-empty string" });
  }
  if (field("accountToken") !== undefined && field("accountRef") !== undefined) problems.push({ pointer: "/accountRef", message: "give accountToken or accountRef, not both" });
  problems.push(...missingContactsProblems(field("missingContacts"), "/missingContacts"));
  return problems;
}
