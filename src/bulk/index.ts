/**
 * `merge-crm-engagements/bulk`: create engagements by the thousand, paced per linked account, under
 * Merge's global failure limit, exactly once across crashes and reruns (issue 11). A layer above the
 * client: it uses the core only through its public exports, and the core never imports it.
 *
 * A row's way: key (its own, or derived from content and occurrence) -> journal (done before? skip) ->
 * validation (`validateCreate`: the spec, and the linked account's schema when the client has
 * `accountValidation`; rejected rows never reach Merge) -> its account's lane and turn (pacer) -> a
 * global slot -> the failure guard's permit -> `create` with `maxRetries: 0` and the row's deterministic
 * `Idempotency-Key`, so this layer sees every 429 (pacing) and every failure (the guard), and every
 * retry or rerun replays instead of writing twice.
 */
import type { AccountTokenMode, MergeCrmClient, ValidationIssue } from "../index.js";
import { MergeValidationError } from "../index.js";
import { backoff, classify, createdId, problemsOf } from "./answers.js";
import { FailureGuard, type FailureGuardMode } from "./failure-guard.js";
import { accountName, idempotencyKeyFor, RowKeys } from "./keys.js";
import { openJournal } from "./journal.js";
import { AccountPacer, resolveRate } from "./pacer.js";
import type { BulkJournal, BulkOptions, BulkOutcome, BulkRow, BulkRowError, BulkRowResult, BulkSummary } from "./types.js";
import { Semaphore, Stopper } from "./waits.js";

export type { FailureGuardMode } from "./failure-guard.js";
export type { BulkJournal, BulkOptions, BulkOutcome, BulkRow, BulkRowError, BulkRowResult, BulkSummary, RatePlan } from "./types.js";
export { MergeBulkJournalError, openJournal, readJournal } from "./journal.js";
export { idempotencyKeyFor } from "./keys.js";
export { RATE_PLANS } from "./pacer.js";

/**
 * Merge keeps an idempotency key 24 hours. A row that may have been written (in flight at a crash, or a
 * 5xx after every attempt) and was first sent longer ago than this is not resent: Merge may no longer
 * recognise its key, and sending it again could write it twice.
 */
const KEY_LIFETIME_MS = 23 * 3_600_000;

/**
 * Creates one engagement per row, streaming: rows are pulled from `rows` only while fewer than
 * `bufferSize` are unsettled, so memory stays flat whatever the input's size. Resolves with the summary
 * once every row taken has settled; each row's result goes to `onResult` (and the journal) as it settles.
 * Rejects only for bad options, a journal that cannot be opened or written, or an input that throws.
 * @example
 * import { bulkCreate } from "merge-crm-engagements/bulk";
 * const summary = await bulkCreate(merge, rows, {
 *   journal: "calls.journal", ratePerMinute: "professional",
 *   onResult: (r) => { if (r.outcome === "rejected") console.log(r.line, r.problems ?? r.error); },
 * });
 * // { rows: 12000, created: 11950, doneBefore: 0, rejected: 48, failed: 2, valid: 0, durationMs: 1812345 }
 */
export async function bulkCreate(
  client: MergeCrmClient<AccountTokenMode>,
  rows: Iterable<BulkRow> | AsyncIterable<BulkRow>,
  options: BulkOptions = {},
): Promise<BulkSummary> {
  const started = performance.now();
  const settings = resolveSettings(options);
  const dryRun = options.dryRun === true;
  const logger = options.logger;
  // A dry run journals nothing, so it does not even open (or lock) the journal.
  const ownsJournal = typeof options.journal === "string" && !dryRun;
  const journal: BulkJournal | undefined = dryRun
    ? undefined
    : typeof options.journal === "string"
      ? await openJournal(options.journal)
      : options.journal;

  const stopper = new Stopper();
  const signal = options.signal;
  const onAbort = () => stopper.stop("aborted");
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });

  const summary: BulkSummary = { rows: 0, created: 0, doneBefore: 0, rejected: 0, failed: 0, valid: 0, durationMs: 0 };
  const slots = new Semaphore(settings.concurrency, stopper);
  const buffer = new Semaphore(settings.bufferSize, stopper);
  const guard = new FailureGuard(stopper, { logger, mode: settings.failureGuard });
  const pacers = new Map<string, AccountPacer>();
  const keys = new RowKeys();
  /** Rows in progress by account and key: a second row with the same key waits for the first. */
  const inProgress = new Map<string, Promise<void>>();
  const tasks = new Set<Promise<void>>();
  let fatal: { error: unknown } | undefined;

  /** Account names by token: one hash per linked account, not per row (bounded: cleared past 10,000). */
  const names = new Map<string, string>();
  const nameOf = (token: string): string => {
    let name = names.get(token);
    if (name === undefined) {
      if (names.size >= 10_000) names.clear();
      name = accountName(token);
      names.set(token, name);
    }
    return name;
  };

  const pacerOf = (account: string): AccountPacer => {
    let pacer = pacers.get(account);
    if (!pacer) {
      pacer = new AccountPacer(settings.ratePerMinute, settings.perAccountConcurrency, stopper, (change) => {
        const rate = Math.round(change.ratePerMinute * 10) / 10;
        if (change.kind === "throttled") logger?.info?.(`Account ${account}: 429, paused ${Math.round(change.pauseMs ?? 0)} ms, rate now ${rate}/min`);
        else logger?.info?.(`Account ${account}: no 429 for 10 s, rate back up to ${rate}/min`);
      });
      pacers.set(account, pacer);
    }
    return pacer;
  };

  const settle = (result: BulkRowResult, journaled: boolean): void => {
    summary.rows++;
    summary[COUNTERS[result.outcome]]++;
    if (journaled) journal?.record(result);
    if (!options.onResult) return;
    try {
      options.onResult(result);
    } catch (error) {
      logger?.error?.(`bulkCreate: onResult threw for row ${result.key}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  /** One attempt's send: a lane and a turn of the account, a global slot, a permit of the guard. */
  const sendOnce = async (pacer: AccountPacer, send: () => Promise<unknown>) => {
    if (!(await pacer.lanes.acquire())) return { sent: false as const };
    try {
      if (!(await pacer.waitTurn())) return { sent: false as const };
      if (!(await slots.acquire())) {
        pacer.giveBack();
        return { sent: false as const };
      }
      try {
        const permit = await guard.permit();
        if (!permit) {
          pacer.giveBack();
          return { sent: false as const };
        }
        pacer.sent();
        try {
          const value = await send();
          return { sent: true as const, permit, value };
        } catch (error) {
          return { sent: true as const, permit, error: { thrown: error } };
        }
      } finally {
        slots.release();
      }
    } finally {
      pacer.lanes.release();
    }
  };

  const processRow = async (row: BulkRow): Promise<void> => {
    const shape = rowShapeProblems(row);
    const token = typeof row?.accountToken === "string" ? row.accountToken : options.accountToken;
    const account = nameOf(token ?? "");
    const key = typeof row?.key === "string" && row.key.length > 0 ? row.key : keys.derive(account, row?.model);
    const base: { key: string; account: string; line?: number } = { key, account };
    if (typeof row?.line === "number") base.line = row.line;
    if (shape.length > 0) return settle({ ...base, outcome: "rejected", problems: shape, attempts: 0 }, !dryRun);

    const id = `${account}\n${key}`;
    for (let earlier = inProgress.get(id); earlier; earlier = inProgress.get(id)) await earlier;
    let done!: () => void;
    inProgress.set(id, new Promise<void>((resolve) => (done = resolve)));
    try {
      await processUniqueRow(row, token, base);
    } finally {
      inProgress.delete(id);
      done();
    }
  };

  const processUniqueRow = async (row: BulkRow, token: string | undefined, base: { key: string; account: string; line?: number }): Promise<void> => {
    const { key, account } = base;
    const previous = journal?.outcomeOf(account, key);
    if (previous && (previous.outcome === "created" || previous.outcome === "rejected")) {
      const result: BulkRowResult = { ...base, outcome: "done-before", before: previous.outcome, attempts: 0 };
      if (previous.id !== undefined) result.id = previous.id;
      if (previous.problems) result.problems = previous.problems;
      if (previous.error) result.error = previous.error;
      if (previous.sentAt) result.sentAt = previous.sentAt;
      return settle(result, false);
    }
    const firstSent = previous?.sentAt === undefined ? undefined : Date.parse(previous.sentAt);
    if (previous?.error?.writeMayHaveHappened && firstSent !== undefined && Date.now() - firstSent > KEY_LIFETIME_MS) {
      const error: BulkRowError = {
        name: "StaleIdempotencyKey",
        message:
          `Not resent: it may have been written when first sent at ${previous.sentAt} (${previous.error.name}: ${previous.error.message}), ` +
          "and Merge forgets idempotency keys after 24 h, so sending it again could write it twice. Check the CRM; to send it anyway, give the row a new key.",
        writeMayHaveHappened: true,
      };
      const result: BulkRowResult = { ...base, outcome: "failed", error, attempts: 0 };
      if (previous.sentAt) result.sentAt = previous.sentAt;
      return settle(result, false);
    }

    const accountOption = token === undefined ? {} : { accountToken: token };
    let problems: ValidationIssue[];
    try {
      problems = await client.engagements.validateCreate(row.model, accountOption);
    } catch (error) {
      const found = problemsOf(error);
      if (!found) throw error;
      problems = found;
    }
    if (problems.length > 0) return settle({ ...base, outcome: "rejected", problems, attempts: 0 }, !dryRun);
    if (dryRun) return settle({ ...base, outcome: "valid", attempts: 0 }, false);

    const idempotencyKey = idempotencyKeyFor(token ?? "", key);
    const pacer = pacerOf(account);
    let sentAt = previous?.sentAt;
    let attempts = 0;
    let lastError: BulkRowError | undefined;
    // Whether any send of this key, in this run or before, may have written: a last 429 does not undo
    // an earlier 5xx, and the next run's 24 h check depends on it.
    let mayHaveWritten = previous?.error?.writeMayHaveHappened === true;
    for (;;) {
      const attempt = await sendOnce(pacer, () => {
        if (attempts === 0) {
          // Before this run's first send: a crash from here on leaves a record saying the row may be
          // written. `sentAt` keeps the earliest send of the key (the stale check errs on the safe side).
          sentAt ??= new Date().toISOString();
          journal?.record({ ...base, outcome: "failed", error: INTERRUPTED, attempts: 1, sentAt });
        }
        attempts++;
        return client.engagements.create(row.model, { ...accountOption, idempotencyKey, maxRetries: 0 });
      });
      if (!attempt.sent) break; // the run stopped before this attempt was sent
      const { permit } = attempt;
      const stamped = (result: BulkRowResult): BulkRowResult => (sentAt === undefined ? result : { ...result, sentAt });
      if (!("error" in attempt)) {
        permit.settle("success");
        return settle(stamped({ ...base, outcome: "created", id: createdId(attempt.value), attempts }), true);
      }
      const verdict = classify(attempt.error.thrown);
      permit.settle(verdict.guard, verdict.detail);
      if (verdict.kind === "created") return settle(stamped({ ...base, outcome: "created", id: null, attempts }), true);
      if (verdict.kind === "invalid") return settle(stamped({ ...base, outcome: "rejected", problems: verdict.problems, attempts }), true);
      if (verdict.kind === "rejected") return settle(stamped({ ...base, outcome: "rejected", error: verdict.error, attempts }), true);
      lastError = verdict.error;
      mayHaveWritten ||= verdict.error.writeMayHaveHappened;
      if (verdict.kind === "fatal" || verdict.kind === "unauthorized" || attempts >= settings.maxAttempts) break;
      if (verdict.kind === "rate-limited") pacer.throttled(verdict.retryAfterMs, permit.sentAt);
      else if (!(await stopper.sleep(verdict.kind === "transient" && verdict.retryAfterMs !== undefined ? verdict.retryAfterMs : backoff(attempts)))) break;
    }
    // Never sent in this run (it stopped first): like a row not taken, it has no result.
    if (attempts === 0 && lastError === undefined) return;
    const result: BulkRowResult = { ...base, outcome: "failed", error: { ...(lastError ?? STOPPED), writeMayHaveHappened: mayHaveWritten }, attempts };
    if (sentAt !== undefined) result.sentAt = sentAt;
    settle(result, true);
  };

  const unsubscribeGuard = stopper.onStop(() => {
    const reason = stopper.reason;
    if (reason && reason !== "aborted") logger?.warn?.(`bulkCreate: ${reason}`);
  });

  let inputError: { error: unknown } | undefined;
  try {
    let yieldedAt = performance.now();
    for await (const row of rows) {
      // Rows that settle at once (a dry run, done-before) chain only microtasks: give timers, I/O and
      // signals (Ctrl-C) their turn every 20 ms, or a million rows would starve them to the end.
      if (performance.now() - yieldedAt > 20) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yieldedAt = performance.now();
      }
      if (stopper.stopped || !(await buffer.acquire())) break;
      const task: Promise<void> = processRow(row)
        .catch((error: unknown) => {
          fatal ??= { error };
          stopper.stop(`stopped by an error: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => {
          buffer.release();
          tasks.delete(task);
        });
      tasks.add(task);
      if (stopper.stopped) break;
    }
  } catch (error) {
    inputError = { error };
    stopper.stop(`the input failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    while (tasks.size > 0) await Promise.all([...tasks]);
    guard.dispose();
    unsubscribeGuard();
    signal?.removeEventListener("abort", onAbort);
    if (ownsJournal) await journal?.close();
  }
  if (fatal) throw fatal.error;
  if (inputError) throw inputError.error;
  if (stopper.reason !== undefined) summary.stopped = stopper.reason;
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

const COUNTERS: Record<BulkOutcome, "created" | "doneBefore" | "rejected" | "failed" | "valid"> = {
  created: "created",
  "done-before": "doneBefore",
  rejected: "rejected",
  failed: "failed",
  valid: "valid",
};

const INTERRUPTED: BulkRowError = {
  name: "Interrupted",
  message: "Sent, and the run ended before Merge's answer was recorded; the next run sends it again with the same Idempotency-Key",
  writeMayHaveHappened: true,
};
const STOPPED: BulkRowError = { name: "Stopped", message: "The run stopped while the row waited to be retried", writeMayHaveHappened: false };

interface Settings {
  ratePerMinute: number;
  failureGuard: FailureGuardMode;
  concurrency: number;
  perAccountConcurrency: number;
  maxAttempts: number;
  bufferSize: number;
}

/**
 * Requests in flight overall, by default: the accounts' summed rate times the answers' latency, for
 * 100 accounts at 600/min answered in 1 s (or 50 answered in 2 s). Each holds a connection.
 */
const DEFAULT_CONCURRENCY = 1_000;
/** The answer latency the per-account default covers at the account's full rate. */
const LATENCY_ALLOWANCE_MS = 3_000;
/** The default read-ahead: rows per global slot. */
const BUFFER_PER_SLOT = 4;

function resolveSettings(options: BulkOptions): Settings {
  const problems: ValidationIssue[] = [];
  const whole = (name: "concurrency" | "perAccountConcurrency" | "maxAttempts" | "bufferSize", fallback: number): number => {
    const value: unknown = options[name];
    if (value === undefined) return fallback;
    if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value;
    problems.push({ pointer: `/${name}`, message: "must be a whole number >= 1" });
    return fallback;
  };
  const ratePerMinute = resolveRate(options.ratePerMinute);
  if (ratePerMinute === undefined) {
    problems.push({ pointer: "/ratePerMinute", message: 'must be a number > 0 or "launch", "professional" or "enterprise"' });
  }
  const rate = ratePerMinute ?? 0; // invalid: the options are refused below
  const concurrency = whole("concurrency", DEFAULT_CONCURRENCY);
  const failureGuard = options.failureGuard ?? "adaptive";
  if (failureGuard !== "adaptive" && failureGuard !== "strict") problems.push({ pointer: "/failureGuard", message: 'must be "adaptive" or "strict"' });
  const settings: Settings = {
    ratePerMinute: rate,
    failureGuard,
    concurrency,
    // An account's requests in flight are its rate times the answers' latency: enough for the full
    // rate with answers up to LATENCY_ALLOWANCE_MS (30 at 600/min), never fewer than 4.
    perAccountConcurrency: whole("perAccountConcurrency", Math.max(4, Math.ceil((rate / 60_000) * LATENCY_ALLOWANCE_MS))),
    maxAttempts: whole("maxAttempts", 5),
    // Rows waiting behind those in flight, so each account has its next row ready when its turn comes.
    bufferSize: whole("bufferSize", Math.max(2048, BUFFER_PER_SLOT * concurrency)),
  };
  if (options.accountToken !== undefined && (typeof options.accountToken !== "string" || options.accountToken.length === 0)) {
    problems.push({ pointer: "/accountToken", message: "must be a non-empty string" });
  }
  if (problems.length > 0) throw new MergeValidationError(problems);
  return settings;
}

/** What is wrong with a row's shape (not its model: validation says that). */
function rowShapeProblems(row: unknown): ValidationIssue[] {
  if (typeof row !== "object" || row === null) return [{ pointer: "", message: "must be an object { model, accountToken?, key?, line? }" }];
  const problems: ValidationIssue[] = [];
  if (!("model" in row)) problems.push({ pointer: "/model", message: "is required" });
  if ("key" in row && row.key !== undefined && (typeof row.key !== "string" || row.key.length === 0)) {
    problems.push({ pointer: "/key", message: "must be a non-empty string" });
  }
  if ("accountToken" in row && row.accountToken !== undefined && (typeof row.accountToken !== "string" || row.accountToken.length === 0)) {
    problems.push({ pointer: "/accountToken", message: "must be a non-empty string" });
  }
  return problems;
}
