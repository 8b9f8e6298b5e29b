/**
 * Workers: BullMQ workers that deliver each job with `bulkCreate`'s delivery of a row
 * (`deliverRow`), the pacer and the failure guard in Redis (`gate.ts`), the done-store in Redis. What a
 * delivery's end means for the job:
 * - created, or done before: completed (kept `keepCompletedMs`, at least 24 h);
 * - rejected (the spec, the account's schema, a 4xx other than 401 and 429): failed, never retried,
 *   its problems in the done-store and its reason;
 * - failed (401, attempts spent, a stale key): failed, with the error;
 * - a transient failure with attempts left: back to Redis for BullMQ's retry, its back-off honouring
 *   `Retry-After`;
 * - not due (its account paced or paused, the guard holding): delayed in Redis, not counted as an attempt;
 * - held (its linked account suspended: 401, 403, `can_make_request: false`, failures in a row): delayed
 *   in Redis until the account's next probe, not failed; when a probe succeeds, the worker that sent it
 *   brings the account's held jobs of this queue back at once.
 * A worker killed at any instant leaves its job locked; BullMQ's stalled-job check gives it to another
 * worker, which sends it with the same `Idempotency-Key` (the done-store says it may have been sent).
 */
import { randomUUID } from "node:crypto";
import type { Job } from "bullmq";
import { MergeValidationError, type ValidationIssue } from "../index.js";
import { backoff } from "../delivery/verdicts.js";
import { deliverRow, missingContactsProblems, type Delivery } from "../delivery/deliver-row.js";
import { resolveRate } from "../delivery/pacer.js";
import { HEALTH_DEFAULTS, healthProblems } from "../delivery/account-health.js";
import type { BulkRowResult } from "../delivery/types.js";
import { tokenCipher, type TokenCipher } from "./cipher.js";
import { openRedis } from "./connection.js";
import { redisDoneStore } from "./done-store.js";
import { MergeQueueConfigError, MergeQueueUnavailableError } from "./errors.js";
import { heartbeat, heldKey, redisGate } from "./gate.js";
import { DEFAULT_QUEUE, readJobData } from "./jobs.js";
import { bullmq } from "./peers.js";
import type { EngagementWorker, EngagementWorkerOptions, EngagementWorkerStats, QueueDeliveryResult } from "./types.js";
import { messageOf } from "../internal/errors.js";
import { sleep } from "../internal/sleep.js";

const DAY_MS = 86_400_000;
/** A job's attempts when its options do not say. */
const DEFAULT_ATTEMPTS = 5;

/** What a completed job returns (BullMQ keeps it as the job's return value). */
export interface DeliveredValue {
  outcome: "created" | "done-before";
  id: string | null;
  attempts: number;
}

/**
 * Starts a worker on the queue. It runs until `close()`, or one of `closeOnSignals`.
 * @example
 * import { createMergeCrmClient } from "merge-crm-engagements";
 * import { startEngagementWorker } from "merge-crm-engagements/queue";
 * const merge = createMergeCrmClient({ apiKey: process.env.MERGE_API_KEY! });
 * await startEngagementWorker({ client: merge, connection: process.env.REDIS_URL!, ratePerMinute: "enterprise" });
 */
export async function startEngagementWorker(options: EngagementWorkerOptions): Promise<EngagementWorker> {
  const name = options.name ?? DEFAULT_QUEUE;
  const rate = resolveRate(options.ratePerMinute);
  const concurrency = options.concurrency ?? 100;
  const mode = options.failureGuard ?? "adaptive";
  const scope = options.failureScope ?? "egress";
  const problems: ValidationIssue[] = [];
  if (rate === undefined) problems.push({ pointer: "/ratePerMinute", message: 'must be a number > 0 or "launch", "professional" or "enterprise"' });
  if (!Number.isInteger(concurrency) || concurrency < 1) problems.push({ pointer: "/concurrency", message: "must be a whole number >= 1" });
  if (mode !== "adaptive" && mode !== "strict") problems.push({ pointer: "/failureGuard", message: 'must be "adaptive" or "strict"' });
  if (typeof scope !== "string" || !/^[\w.-]{1,100}$/.test(scope)) problems.push({ pointer: "/failureScope", message: "must be 1 to 100 letters, digits, '.', '_' or '-'" });
  problems.push(...healthProblems(options.accountHealth, "/accountHealth"));
  problems.push(...missingContactsProblems(options.missingContacts, "/missingContacts"));
  if (options.accountHealth?.probationInFlight !== undefined && options.accountHealth.probationInFlight !== 1) {
    problems.push({ pointer: "/accountHealth/probationInFlight", message: "must be 1 in the fleet (one write of a new account in flight over every worker)" });
  }
  if (problems.length > 0 || rate === undefined) throw new MergeValidationError(problems);

  const secret = options.secret ?? process.env["MERGE_QUEUE_SECRET"];
  const cipher: TokenCipher | undefined = secret === undefined || secret === "" ? undefined : tokenCipher(secret);
  const logger = options.logger;
  const id = `${name}-${randomUUID().slice(0, 8)}`;
  const connection = openRedis(options.connection, true);
  let closing = false;
  const health = { ...HEALTH_DEFAULTS, ...options.accountHealth };
  // Held jobs come back (promoted from delayed) as soon as a probe of their account succeeds.
  let promoter: InstanceType<typeof bullmq.Queue> | undefined;
  const promoteHeld = async (account: string): Promise<void> => {
    promoter ??= new bullmq.Queue(name, { connection: connection.redis, skipWaitingForReady: true });
    const key = heldKey(name, account);
    for (let ids = await connection.redis.spop(key, 500); ids.length > 0; ids = await connection.redis.spop(key, 500)) {
      await Promise.all(
        ids.map(async (jobId) => {
          const job = await bullmq.Job.fromId(promoter!, jobId);
          if (job && (await job.isDelayed())) await job.promote();
        }),
      ).catch((error: unknown) => logger?.warn?.(`engagement worker: bringing back held jobs of ${account}: ${messageOf(error)}`));
    }
  };
  const onResumed = (account: string) => void promoteHeld(account).catch(() => {});
  const gate = redisGate(connection.redis, { ratePerMinute: rate, mode, scope, worker: id, logger, health, onResumed }, () => closing);
  const doneStore = redisDoneStore(connection.redis, name, 7 * DAY_MS);
  const stopBeating = heartbeat(connection.redis, scope, id);
  const stats: EngagementWorkerStats = { created: 0, doneBefore: 0, rejected: 0, failed: 0, retried: 0, deferred: 0, held: 0, active: 0 };

  const report = (result: BulkRowResult, jobId: string) => {
    if (result.outcome === "created") stats.created++;
    else if (result.outcome === "done-before") stats.doneBefore++;
    else if (result.outcome === "rejected") stats.rejected++;
    else if (result.outcome === "failed") stats.failed++;
    if (!options.onResult) return;
    const delivered: QueueDeliveryResult = { ...result, jobId };
    try {
      options.onResult(delivered);
    } catch (error) {
      logger?.error?.(`engagement worker: onResult threw for job ${jobId}: ${messageOf(error)}`);
    }
  };

  const tokenOf = async (data: { token?: string; accountRef?: string }, jobId: string): Promise<string | undefined> => {
    if (data.token !== undefined) {
      if (!cipher) throw new MergeQueueConfigError("The job carries a sealed account token, and this worker has no secret: set MERGE_QUEUE_SECRET (or the secret option) to the producers' secret");
      return cipher.open(data.token, jobId);
    }
    if (data.accountRef !== undefined) {
      if (!options.resolveAccountToken) throw new MergeQueueConfigError("The job names its account by accountRef, and this worker has no resolveAccountToken");
      return options.resolveAccountToken(data.accountRef);
    }
    return undefined;
  };

  const processJob = async (job: Job, lockToken?: string): Promise<DeliveredValue> => {
    const jobId = job.id ?? "";
    const data = readJobData(job.data);
    if (typeof data === "string") throw new bullmq.UnrecoverableError(`Rejected: ${data}`);
    let token: string | undefined;
    try {
      token = await tokenOf(data, jobId);
    } catch (error) {
      const message = messageOf(error);
      report({ key: data.key, account: data.account, outcome: "failed", error: { name: "MergeQueueConfigError", message, writeMayHaveHappened: false }, attempts: 0, ...(data.line === undefined ? {} : { line: data.line }) }, jobId);
      throw new bullmq.UnrecoverableError(`Failed: ${message}`);
    }
    const row = { model: data.model, token, account: data.account, key: data.key, ...(data.line === undefined ? {} : { line: data.line }) };
    const delivery: Delivery = await deliverRow(
      {
        client: options.client,
        gate,
        doneStore,
        maxAttempts: job.opts.attempts ?? DEFAULT_ATTEMPTS,
        attemptsBefore: job.attemptsMade,
        backoff,
        missingContacts: data.missingContacts ?? options.missingContacts,
      },
      row,
    );
    if (delivery.kind === "held") {
      // Waits in Redis until the account's next probe (a second's spread, so they do not all come at once).
      stats.held++;
      await connection.redis.sadd(heldKey(name, data.account), jobId);
      await job.moveToDelayed(delivery.untilMs + Math.floor(Math.random() * 1_000), lockToken);
      throw new bullmq.DelayedError();
    }
    if (delivery.kind === "later" || delivery.kind === "not-sent") {
      stats.deferred++;
      await job.moveToDelayed(delivery.kind === "later" ? delivery.untilMs : Date.now(), lockToken);
      throw new bullmq.DelayedError();
    }
    if (delivery.kind === "retry") {
      stats.retried++;
      throw new RetryLater(`${delivery.error.name}: ${delivery.error.message}`, delivery.waitMs);
    }
    const { result } = delivery;
    report(result, jobId);
    if (result.outcome === "created" || result.outcome === "done-before") return { outcome: result.outcome, id: result.id ?? null, attempts: result.attempts };
    throw new bullmq.UnrecoverableError(reasonOf(result));
  };

  const worker = new bullmq.Worker(
    name,
    async (job, lockToken) => {
      stats.active++;
      try {
        return await processJob(job, lockToken);
      } finally {
        stats.active--;
      }
    },
    {
      connection: connection.redis,
      concurrency,
      autorun: true,
      // A killed worker's jobs are always taken over (BullMQ's default fails them after one stall).
      maxStalledCount: 1_000,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 15_000,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) => (error instanceof RetryLater ? error.waitMs : backoff(Math.max(1, attemptsMade))),
      },
    },
  );
  worker.on("error", (error) => logger?.error?.(`engagement worker: ${error.message}`));

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closingPromise: Promise<void> | undefined;
  const signals = options.closeOnSignals === false ? [] : (options.closeOnSignals ?? ["SIGTERM", "SIGINT"]);
  const onSignal = () => void close();
  const close = (): Promise<void> =>
    (closingPromise ??= (async () => {
      closing = true;
      for (const signal of signals) process.off(signal, onSignal);
      // Jobs in flight finish (their sends are answered or time out); once none is left, a Redis that
      // does not answer does not hold the close any longer than CLOSE_GRACE_MS.
      const graceful = worker.close();
      for (;;) {
        const done = await Promise.race([graceful.then(() => true), sleep(CLOSE_GRACE_MS, { unref: true }).then(() => false)]);
        if (done) break;
        if (stats.active === 0) {
          await Promise.race([worker.close(true), sleep(CLOSE_GRACE_MS, { unref: true })]);
          break;
        }
      }
      await Promise.race([stopBeating(), sleep(CLOSE_GRACE_MS, { unref: true })]);
      await Promise.race([promoter?.close(), sleep(CLOSE_GRACE_MS, { unref: true })]);
      if (connection.owned) connection.redis.disconnect();
      resolveClosed();
    })());
  for (const signal of signals) process.on(signal, onSignal);
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const ready = await Promise.race([worker.waitUntilReady().then(() => true), sleep(readyTimeoutMs, { unref: true }).then(() => false)]);
  if (!ready) {
    await close();
    throw new MergeQueueUnavailableError(`Redis did not answer within ${readyTimeoutMs} ms; the worker did not start`, { mayHaveBeenEnqueued: false });
  }

  return { name, close, closed, stats: () => ({ ...stats }) };
}

const CLOSE_GRACE_MS = 5_000;


/** A transient failure with attempts left: BullMQ retries the job after `waitMs`. */
class RetryLater extends Error {
  override name = "RetryLater";
  constructor(message: string, readonly waitMs: number) {
    super(message);
  }
}

/** BullMQ's failed reason of a rejected or failed row. */
function reasonOf(result: BulkRowResult): string {
  if (result.problems && result.problems.length > 0) return `Rejected: ${result.problems.map((p) => `${p.pointer || "/"} ${p.message}`).join("; ")}`;
  const error = result.error;
  if (!error) return `${result.outcome}`;
  const may = error.writeMayHaveHappened ? " (it may have been written)" : "";
  return `${result.outcome === "rejected" ? "Rejected" : "Failed"}: ${error.name}${error.status === undefined ? "" : ` ${error.status}`}: ${error.message}${may}`;
}
