/**
 * `merge-crm-engagements/bulk`: create engagements by the thousand, paced per linked account, under
 * Merge's global failure limit, exactly once across crashes and reruns. A layer above the
 * client: it uses the core only through its public exports, and the core never imports it.
 *
 * A row's way: key (its own, or derived from content and occurrence) -> journal (done before? skip) ->
 * validation (`validateCreate`: the spec, and the linked account's schema when the client has
 * `accountValidation`; rejected rows never reach Merge) -> its account's health (suspended: held) ->
 * its account's lane and turn (pacer) -> a global slot -> the failure guard's permit -> `create` with
 * `maxRetries: 0` and the row's deterministic `Idempotency-Key`, so this layer sees every 429 (pacing)
 * and every failure (the account's health, the guard), and every retry or rerun replays instead of
 * writing twice.
 *
 * @module merge-crm-engagements/bulk
 */
import type { AccountTokenMode, MergeCrmClient, ValidationIssue } from "../index.js";
import { MergeValidationError } from "../index.js";
import { AccountHealthBook, healthProblems, type AccountHealthOptions, type Suspension } from "../delivery/account-health.js";
import { backoff } from "../delivery/verdicts.js";
import { deliverRow, missingContactsProblems, type AccountSuspension, type Admission, type DeliveryContext, type DoneStore, type SendGate } from "../delivery/deliver-row.js";
import { FailureGuard, type FailureGuardMode } from "../delivery/failure-guard.js";
import { accountName, RowKeys } from "../delivery/keys.js";
import { openJournal } from "./journal.js";
import { AccountPacer, resolveRate } from "../delivery/pacer.js";
import type { BulkJournal, BulkOptions, BulkOutcome, BulkRow, BulkRowResult, BulkSummary } from "./types.js";
import { Semaphore, Stopper } from "../delivery/waits.js";
import { messageOf } from "../internal/errors.js";
import { afterPendingIo } from "../internal/sleep.js";

export type { FailureGuardMode } from "../delivery/failure-guard.js";
export type { AccountHealthOptions } from "../delivery/account-health.js";
export { HEALTH_DEFAULTS } from "../delivery/account-health.js";
export type { BulkJournal, BulkOptions, BulkOutcome, BulkRow, BulkRowError, BulkRowResult, BulkSummary, RatePlan, SuspendedAccount } from "./types.js";
export { MergeBulkJournalError, openJournal, readJournal } from "./journal.js";
export { idempotencyKeyFor } from "../delivery/keys.js";
export { RATE_PLANS } from "../delivery/pacer.js";

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

  const summary: BulkSummary = { rows: 0, created: 0, doneBefore: 0, rejected: 0, held: 0, failed: 0, valid: 0, suspended: [], durationMs: 0 };
  const slots = new Semaphore(settings.concurrency, stopper);
  const buffer = new Semaphore(settings.bufferSize, stopper);
  const guard = new FailureGuard(stopper, { logger, mode: settings.failureGuard });
  const health = new AccountHealthBook(stopper.clock, settings.accountHealth, () => guard.answerFailureRate());
  const unsubscribeHealth = stopper.onStop(() => health.wakeAll());
  /** Accounts seen suspended in this run (their latest suspension), and the rows each held. */
  const suspensions = new Map<string, Suspension>();
  const heldRows = new Map<string, number>();
  const noteSuspension = (account: string, suspension: Suspension): AccountSuspension => {
    if (!suspensions.has(account) || suspensions.get(account)?.since !== suspension.since) {
      logger?.warn?.(`Account ${account}: suspended (${suspension.reason}); its rows are held, one probe in ${Math.round((suspension.probeAt - Date.now()) / 1000)} s`);
    }
    suspensions.set(account, suspension);
    return { reason: suspension.reason, since: suspension.since, untilMs: suspension.probeAt };
  };
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

  const settle = (result: BulkRowResult): void => {
    summary.rows++;
    summary[COUNTERS[result.outcome]]++;
    if (result.outcome === "held") heldRows.set(result.account, (heldRows.get(result.account) ?? 0) + 1);
    if (!options.onResult) return;
    try {
      options.onResult(result);
    } catch (error) {
      logger?.error?.(`bulkCreate: onResult threw for row ${result.key}: ${messageOf(error)}`);
    }
  };

  /**
   * A send's admission in one process: the account's health (held while suspended, one write in flight
   * on probation), a lane and a turn of the account, a global slot, a permit of the guard; all given
   * back when the answer is settled.
   */
  const gate: SendGate = {
    async admit(account) {
      let check = health.check(account);
      while (check.kind === "wait") {
        await check.ready;
        if (stopper.stopped) return { kind: "stopped" };
        check = health.check(account);
      }
      if (check.kind === "held") return { kind: "held", ...noteSuspension(account, check.suspension) };
      const probe = check.probe;
      const pacer = pacerOf(account);
      const release = (stage: number): void => {
        if (stage >= 3) slots.release();
        if (stage >= 2) pacer.giveBack();
        if (stage >= 1) pacer.lanes.release();
        health.cancelled(account, probe);
      };
      const stopped = (stage: number): Admission => {
        release(stage);
        return { kind: "stopped" };
      };
      if (!(await pacer.lanes.acquire())) return stopped(0);
      if (!(await pacer.waitTurn())) return stopped(1);
      if (!(await slots.acquire())) return stopped(2);
      const permit = await guard.permit(probe);
      if (!permit) return stopped(3);
      // Suspended while this row waited: it is held like the account's others.
      const suspended = probe ? undefined : health.suspensionOf(account);
      if (suspended) {
        permit.settle("neutral");
        release(3);
        return { kind: "held", ...noteSuspension(account, suspended) };
      }
      pacer.sent();
      const established = health.established(account);
      return {
        kind: "send",
        permit: {
          sentAt: permit.sentAt,
          settle(result, detail, owner) {
            slots.release();
            pacer.lanes.release();
            const answer = health.answered(account, { probe, established }, result, owner, detail);
            permit.settle(result, detail, { account, exempt: answer.exempt, accountLevel: owner === "account", established });
            if (answer.resumed) logger?.info?.(`Account ${account}: its probe succeeded; resumed at its rate`);
            return { suspended: answer.suspended && noteSuspension(account, answer.suspended) };
          },
          throttled: (retryAfterMs) => pacer.throttled(retryAfterMs, permit.sentAt),
        },
      };
    },
    suspend: async (account, reason) => noteSuspension(account, health.suspendFor(account, reason)),
    retryAfter: async (waitMs) => ((await stopper.sleep(waitMs)) ? "again" : "stopped"),
  };
  const doneStore: DoneStore | undefined = journal && {
    outcomeOf: (account, key) => journal.outcomeOf(account, key),
    record: (result) => journal.record(result),
  };
  const delivery: DeliveryContext = { client, gate, doneStore, maxAttempts: settings.maxAttempts, dryRun, backoff, missingContacts: options.missingContacts };

  const processRow = async (row: BulkRow): Promise<void> => {
    const shape = rowShapeProblems(row);
    const token = typeof row?.accountToken === "string" ? row.accountToken : options.accountToken;
    const account = nameOf(token ?? "");
    const key = typeof row?.key === "string" && row.key.length > 0 ? row.key : keys.derive(account, row?.model);
    const base: { key: string; account: string; line?: number } = { key, account };
    if (typeof row?.line === "number") base.line = row.line;
    if (shape.length > 0) {
      const result: BulkRowResult = { ...base, outcome: "rejected", problems: shape, attempts: 0 };
      if (!dryRun) journal?.record(result);
      return settle(result);
    }

    const id = `${account}\n${key}`;
    for (let earlier = inProgress.get(id); earlier; earlier = inProgress.get(id)) await earlier;
    let done!: () => void;
    inProgress.set(id, new Promise<void>((resolve) => (done = resolve)));
    try {
      const delivered = await deliverRow(delivery, { ...base, model: row.model, token });
      if (delivered.kind === "settled" || delivered.kind === "held") settle(delivered.result);
    } finally {
      inProgress.delete(id);
      done();
    }
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
        await afterPendingIo();
        yieldedAt = performance.now();
      }
      if (stopper.stopped || !(await buffer.acquire())) break;
      const task: Promise<void> = processRow(row)
        .catch((error: unknown) => {
          fatal ??= { error };
          stopper.stop(`stopped by an error: ${messageOf(error)}`);
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
    stopper.stop(`the input failed: ${messageOf(error)}`);
  } finally {
    while (tasks.size > 0) await Promise.all([...tasks]);
    guard.dispose();
    unsubscribeGuard();
    unsubscribeHealth();
    signal?.removeEventListener("abort", onAbort);
    if (ownsJournal) await journal?.close();
  }
  if (fatal) throw fatal.error;
  if (inputError) throw inputError.error;
  if (stopper.reason !== undefined) summary.stopped = stopper.reason;
  const still = new Set(health.suspended().map((s) => s.account));
  for (const [account, suspension] of suspensions) {
    const rowsHeld = heldRows.get(account) ?? 0;
    if (rowsHeld === 0 && !still.has(account)) continue;
    summary.suspended.push({ account, reason: suspension.reason, since: new Date(suspension.since).toISOString(), rowsHeld, suspended: still.has(account) });
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

const COUNTERS: Record<BulkOutcome, "created" | "doneBefore" | "rejected" | "held" | "failed" | "valid"> = {
  created: "created",
  "done-before": "doneBefore",
  rejected: "rejected",
  held: "held",
  failed: "failed",
  valid: "valid",
};

interface Settings {
  ratePerMinute: number;
  failureGuard: FailureGuardMode;
  concurrency: number;
  perAccountConcurrency: number;
  maxAttempts: number;
  bufferSize: number;
  accountHealth: AccountHealthOptions;
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
    accountHealth: options.accountHealth ?? {},
  };
  problems.push(...healthProblems(options.accountHealth, "/accountHealth"));
  problems.push(...missingContactsProblems(options.missingContacts, "/missingContacts"));
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
