/** The public types of `merge-crm-engagements/queue`: rows in, jobs in Redis, deliveries out. */
import type { AccountTokenMode, EngagementDraft, Logger, MergeCrmClient, MissingContacts, ValidationIssue } from "../index.js";
import type { AccountHealthOptions } from "../delivery/account-health.js";
import type { FailureGuardMode } from "../delivery/failure-guard.js";
import type { BulkRowResult, RatePlan } from "../delivery/types.js";
import type { Redis, RedisOptions } from "ioredis";

/** Where Redis is: a URL (`redis://host:6379/0`), ioredis options, or an ioredis client (not closed by us). */
export type QueueConnection = string | RedisOptions | Redis;

/** One engagement to deliver. */
export interface QueueRow {
  /**
   * The engagement, as `merge.engagements.create` takes it; its contacts, owner, account and engagement
   * type may be references (`{ email }`, `{ name }`, `{ activity_type }`, ...), which the worker resolves
   * before the write (see `merge.engagements.resolve`).
   */
  model: EngagementDraft;
  /** What the worker does with a contact named by an email no contact has. @default the queue's `missingContacts` */
  missingContacts?: MissingContacts;
  /**
   * The linked account's token. Carried in the job encrypted (AES-256-GCM, key from `secret` or
   * `MERGE_QUEUE_SECRET`), never in clear. Give `accountRef` instead to keep tokens out of Redis entirely.
   */
  accountToken?: string;
  /** A name of the linked account that the worker's `resolveAccountToken` turns into its token. */
  accountRef?: string;
  /**
   * The row's key, unique within its linked account: the job's id and the `Idempotency-Key` derive from
   * (account, key), so enqueueing it again adds nothing and delivering it again writes nothing. Without
   * one, it is derived from the model's content (two identical rows are then one delivery).
   */
  key?: string;
  /** The row's line in an input file, carried into its result. */
  line?: number;
}

/** What became of a row given to `enqueue`. */
export interface EnqueueResult {
  /** The job's id: the same for the same (linked account, key), whoever enqueues it. */
  jobId: string;
  /** The linked account: 16 hex characters of a hash of its token (or of its `accountRef`). */
  account: string;
  key: string;
  line?: number;
  /**
   * `queued`: the job is in Redis (added now, or already there); `delivered-before`: a delivery of this
   * (account, key) is on record (created or rejected), so nothing was added.
   */
  status: "queued" | "delivered-before";
}

/** `enqueueMany`'s result of a row: queued, delivered before, or refused before it entered the queue. */
export type EnqueueManyResult = EnqueueResult | { status: "rejected"; line?: number; key?: string; problems: ValidationIssue[] };

/** The options of `createEngagementQueue`. */
export interface EngagementQueueOptions {
  connection: QueueConnection;
  /** @default "merge-crm-engagements" */
  name?: string;
  /** Encrypts the account tokens rows carry. @default process.env.MERGE_QUEUE_SECRET */
  secret?: string;
  /** `enqueue` rejects with `MergeQueueUnavailableError` when Redis has not confirmed the job by then. @default 5000 */
  timeoutMs?: number;
  /** Delivery attempts of a job for transient failures (5xx, timeouts, connection errors). @default 5 */
  attempts?: number;
  /**
   * What the worker does with a contact a row names by an email no contact has: `"reject"` the row,
   * `"omit"` the contact, or `"create"` it (once per linked account and email). Carried in each job.
   * @default the worker's `missingContacts`, else "reject"
   */
  missingContacts?: MissingContacts;
  /** How long completed jobs are kept (and re-enqueues of them ignored). At least 24 h. @default 86_400_000 */
  keepCompletedMs?: number;
  /** How long failed jobs are kept. @default 7 days */
  keepFailedMs?: number;
}

/** BullMQ's counts of a queue. */
export interface QueueCounts {
  waiting: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
}

/** A job in BullMQ's `failed` state, and why. */
export interface FailedJob {
  jobId: string;
  account: string;
  key: string;
  line?: number;
  /** BullMQ's failed reason: the problems by JSON pointer, or the last error. */
  reason: string;
  problems?: ValidationIssue[];
  attemptsMade: number;
  failedAt?: string;
}

/** A linked account suspended over the fleet. */
export interface SuspendedQueueAccount {
  /** The account's name: 16 hex characters of a hash of its token or reference. */
  account: string;
  /** What suspended it: `"403 Forbidden ×3"`, `"RELINK_NEEDED"`. */
  reason: string;
  /** Since when (ISO 8601). */
  since: string;
  /** When its next probe may be sent (ISO 8601). */
  nextProbeAt: string;
  /** Its jobs of this queue waiting (delayed) for it to resume. */
  jobsHeld: number;
}

/** A producer's handle on the queue. */
export interface EngagementQueue {
  readonly name: string;
  /** Checks the row against the spec (`MergeValidationError` names the field) and adds its job. */
  enqueue(row: QueueRow): Promise<EnqueueResult>;
  /** `enqueue` for many rows, in batches; one result per row, in order; bad rows are refused, the rest enter. */
  enqueueMany(rows: Iterable<QueueRow> | AsyncIterable<QueueRow>): Promise<EnqueueManyResult[]>;
  counts(): Promise<QueueCounts>;
  /** The failed jobs, newest first. */
  failedJobs(limit?: number): Promise<FailedJob[]>;
  /** The linked accounts suspended now (over every worker), with their jobs of this queue held. */
  suspendedAccounts(): Promise<SuspendedQueueAccount[]>;
  /** Closes the connections it opened. */
  close(): Promise<void>;
}

/** One delivery's result, as `bulkCreate` gives a row's, plus the job. */
export type QueueDeliveryResult = BulkRowResult & { jobId: string };

/** The options of `startEngagementWorker`. */
export interface EngagementWorkerOptions {
  /** The client that sends: its API key never leaves the worker. */
  client: MergeCrmClient<AccountTokenMode>;
  connection: QueueConnection;
  /** @default "merge-crm-engagements" */
  name?: string;
  /** Jobs in progress in this worker at once. @default 100 */
  concurrency?: number;
  /** Requests a minute per linked account over every worker of the queue: a number or a plan. @default 100 */
  ratePerMinute?: number | RatePlan;
  /** The failure guard's bound (see `bulkCreate`), over every worker sharing `failureScope`. @default "adaptive" */
  failureGuard?: FailureGuardMode;
  /**
   * Who shares Merge's failure limit (more than 20 failing requests from one IP in 10 s): workers with
   * the same scope share one guard. One egress IP for every queue by default.
   * @default "egress"
   */
  failureScope?: string;
  /** Decrypts the account tokens jobs carry. @default process.env.MERGE_QUEUE_SECRET */
  secret?: string;
  /**
   * When a linked account is suspended over the fleet, and how it comes back (see `bulkCreate`'s
   * `accountHealth`): its jobs wait in Redis, delayed, until one probe after the back-off; a probe
   * that succeeds brings them back at once. `probationInFlight` is 1 over the fleet.
   * @default { suspendAfter: 3, probeBackoffMs: 15000, maxProbeBackoffMs: 300000, probationInFlight: 1 }
   */
  accountHealth?: AccountHealthOptions;
  /**
   * What to do with a contact named by an email no contact has, for jobs that do not say (see
   * `EngagementQueueOptions.missingContacts`). Lookups are paced and guarded like writes.
   * @default "reject"
   */
  missingContacts?: MissingContacts;
  /** Turns a row's `accountRef` into its account token (for apps that keep tokens in their database). */
  resolveAccountToken?: (accountRef: string) => string | Promise<string>;
  /** Called once per job that ends (created, rejected, failed, done before); an exception it throws is logged. */
  onResult?: (result: QueueDeliveryResult) => void;
  /** Pacing changes at `info`, the failure guard's holds at `warn`. */
  logger?: Logger;
  /**
   * Signals on which the worker stops taking jobs, finishes those in flight and closes (after which a
   * process with nothing else to do exits 0). `false`: none; call `close()` yourself.
   * @default ["SIGTERM", "SIGINT"]
   */
  closeOnSignals?: readonly NodeJS.Signals[] | false;
  /** How long a worker may go silent before its jobs are taken over by others. @default 30000 */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. @default 15000 */
  stalledIntervalMs?: number;
  /** `startEngagementWorker` rejects with `MergeQueueUnavailableError` when Redis has not answered by then. @default 10000 */
  readyTimeoutMs?: number;
}

/** What a worker has done so far. */
export interface EngagementWorkerStats {
  created: number;
  doneBefore: number;
  rejected: number;
  failed: number;
  /** Transient failures sent back to the queue for a later attempt. */
  retried: number;
  /** Jobs put back (delayed) because their account was not due. */
  deferred: number;
  /** Jobs put back (delayed) because their linked account is suspended. */
  held: number;
  /** Jobs in progress now. */
  active: number;
}

/** A running worker. */
export interface EngagementWorker {
  readonly name: string;
  /** Stops taking jobs, waits for those in flight, closes its connections. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the worker has closed (by `close()` or a signal). */
  readonly closed: Promise<void>;
  stats(): EngagementWorkerStats;
}
