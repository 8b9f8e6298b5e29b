/**
 * Merge's global failure limit: more than 20 failing requests (status >= 400 other
 * than 429) from one IP in 10 s block every linked account of the organization, not only the one at
 * fault. Counts are by send time, in a 12 s window: Merge counts by arrival, and requests reach it after
 * varying delays; 2 s of margin keeps two requests sent 10.1 s apart from arriving 9.9 s apart.
 *
 * "strict": a request may be sent only while the failures sent in the window plus the
 * requests still unanswered that were sent in the window are fewer than 20. Any window then holds at
 * most 20 failures whatever the answers turn out to be (when its last request was sent, every earlier one
 * was counted as failed or as possibly failing), at the price of at most 20 requests unanswered at once:
 * 20 / latency requests a second across accounts (20 a second at 1 s per create).
 *
 * "adaptive" (the default): the strict bound still lets a request through whenever it would;
 * beyond it, a request unanswered counts as possibly failing with the failure rate of recent answers
 * instead of with certainty. The exposure of a send is
 *
 *     failures in the window + suspect requests unanswered + bound(μ),  μ = p × other requests unanswered
 *
 * where p = (failures + 3) / (answers + 3) over the last 1,000 answers of any age (an upper estimate:
 * 3 / answers, the "rule of three", when none failed), or the rate of the last 100 once 3 of them
 * failed (a rate that rises is seen within a hundred answers), weighted by the mean answer times of
 * failures and successes when failures take longer (they then stay in flight longer, and are a larger
 * share of it than of the answers); and bound(μ) = μ + 4 √μ, a 99.997% upper bound of how many of them
 * fail (normal approximation). A send is allowed while its exposure stays at or under 20. With no
 * failures this grows like TCP's slow start (19 in flight, then about 60, 240, 900 a latency apart), and
 * with a steady failure rate it settles where the failures expected in a window stay under 20 with that
 * confidence.
 *
 * The rate of answers cannot see a sudden change (a key revoked: every new write refused), so the first
 * failure starts a probation at once: every request sent at or after the failed one's send time is
 * suspect (it may meet the same fate) and counts as one failure; nothing more is sent while any is
 * unanswered, then one request at a time (a probe). The probation ends when a request sent after the
 * latest failure succeeds: answers to requests sent earlier prove nothing about the change.
 *
 * After 20 failures in a row (an API key revoked, a schema the CRM refuses, a server answering 400 to
 * everything), going on would only feed the limit: the guard stops the run and says why. "In a row" is
 * in send order: the failures sent after the latest request that succeeded, however the answers came
 * back. 429 and requests never sent count neither way.
 *
 * Failures explained by their linked account (`exempt`: an account on probation, suspended, or a
 * suspended account's probe; see `account-health.ts`) count in the window like any other, but never
 * start a probation: one broken account must not slow the others. Of them, only a row's failure on a
 * new account enters the failure rate (it says how often rows fail); account-level ones (401, 403) and
 * probes' do not. A probe in flight counts as a certain failure. Probes' failures are not part of the run of failures
 * either; account-level failures (401, 403) of three or more accounts that had succeeded before, in
 * one run, are every account failing at once (an API key revoked): the guard stops the run.
 *
 * Worst case: failures that take as long as successes to answer, starting at once for everything in
 * flight (Merge down behind a gateway's timeout): all that was sent before the first of them is seen
 * can fail, up to `concurrency`, where "strict" allows 20; a share of requests that starts failing
 * mid-run costs that share of what is in flight.
 */
import type { Logger } from "../index.js";
import {
  ANSWER_PRIOR_ANSWERS,
  ANSWER_PRIOR_FAILURES,
  CONFIDENCE_Z,
  GUARD_DEFAULTS,
  LATENCY_WEIGHT,
  MEMORY_ANSWERS,
  MERGE_FAILURE_LIMIT,
  MERGE_FAILURE_WINDOW_MS,
  PRIOR_FAILURES,
  RECENT_ANSWERS,
  RECENT_FAILURES,
} from "./rules.js";
import { afterPendingIo } from "../internal/sleep.js";
import type { Clock, Stopper } from "./waits.js";

/** How a request sent under a permit ended. */
export type SendResult = "success" | "failure" | "neutral";

/** Which bound the guard keeps: see the module's comment. */
export type FailureGuardMode = "adaptive" | "strict";

/** What the guard is told of a failure's sender. */
export interface SendContext {
  account: string;
  /** Explained by its account (probation, suspension, a probe): never starts a probation. */
  exempt: boolean;
  /** A 401 or 403: the account's credentials or permissions, not the row. */
  accountLevel: boolean;
  /** The account had succeeded before this send. */
  established: boolean;
}

/** A request the guard let through: `settle` it exactly once. */
export interface Permit {
  readonly sentAt: number;
  /** `detail` names a failure in the stop reason (for example "400 Bad Request"). */
  settle(result: SendResult, detail?: string, context?: SendContext): void;
}

export interface FailureGuardOptions {
  /** @default "adaptive" */
  mode?: FailureGuardMode;
  /** Failures allowed in any window. @default 20 */
  maxFailures?: number;
  /** The window the guard counts in, milliseconds (Merge's 10 s and a margin for delays). @default 12000 */
  windowMs?: number;
  /** Consecutive failures that stop the run. @default 20 */
  stopAfterConsecutive?: number;
  /** Accounts that had succeeded, failing 401 or 403 in one run of failures, that stop the run. @default 3 */
  stopAfterAccounts?: number;
  logger?: Logger | undefined;
}

/** What the guard has seen, for reports and tests. */
export interface FailureGuardStats {
  /** The most requests unanswered at once so far. */
  peakInFlight: number;
  /** Whether a probation is on (a failure not yet followed by a success of a request sent after it). */
  probation: boolean;
}

interface Pending {
  readonly at: number;
  /** Send order: what the probation compares (two sends may share a millisecond). */
  readonly seq: number;
  /** A suspended account's probe: counted as a certain failure while unanswered. */
  readonly probe: boolean;
}

export class FailureGuard {
  readonly mode: FailureGuardMode;
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly stopAfterConsecutive: number;
  readonly stopAfterAccounts: number;
  /** Send times of failed requests, oldest first (pruned past the window). */
  private failures: number[] = [];
  /** Those of them explained by their account, oldest first: no reason to warn of a hold. */
  private explained: number[] = [];
  /** Unanswered requests. */
  private readonly pending = new Set<Pending>();
  private peak = 0;
  /** The latest answers, as a ring (1 a failure, 0 a success), and how many of them failed. */
  private readonly answers = new Uint8Array(MEMORY_ANSWERS);
  private answered = 0;
  private failedAnswers = 0;
  private failedRecently = 0;
  /** Mean answer times of recent successes and failures (exponentially weighted), milliseconds. */
  private successMs: number | undefined;
  private failureMs: number | undefined;
  /** The probation: from the earliest failed send, until a success sent after the latest failed one (by `seq`). */
  private probation: { since: number; lastFailure: number } | undefined;
  private sends = 0;
  /** Unanswered requests (not probes) sent at or after `probation.since`. */
  private suspects = 0;
  /** Unanswered probes of suspended accounts. */
  private probes = 0;
  private readonly queue: Array<{ probe: boolean; resolve: (permit: Permit | undefined) => void }> = [];
  private cancelTimer: (() => void) | undefined;
  /**
   * The run of failures: those sent after the latest request that succeeded, in send order (answers
   * come back out of order, and a success sent earlier than a failure does not break the run).
   */
  private run: Array<{ seq: number; detail: string; account?: string | undefined; revoked: boolean }> = [];
  private lastSuccess = -1;
  /** The seq of the latest 401/403 from an account that had worked: a revoked key looks like this at first. */
  private lastRevoked = -1;
  private warnedAt = -Infinity;
  private readonly clock: Clock;

  constructor(private readonly stopper: Stopper, private readonly options: FailureGuardOptions = {}) {
    this.mode = options.mode ?? "adaptive";
    this.maxFailures = options.maxFailures ?? GUARD_DEFAULTS.maxFailures;
    this.windowMs = options.windowMs ?? GUARD_DEFAULTS.windowMs;
    this.stopAfterConsecutive = options.stopAfterConsecutive ?? GUARD_DEFAULTS.stopAfterConsecutive;
    this.stopAfterAccounts = options.stopAfterAccounts ?? GUARD_DEFAULTS.stopAfterAccounts;
    this.clock = stopper.clock;
    stopper.onStop(() => {
      this.cancelTimer?.();
      this.cancelTimer = undefined;
      for (const waiter of this.queue.splice(0)) waiter.resolve(undefined);
    });
  }

  /** Failures and unanswered requests sent within the window ending now: the strict bound's count. */
  inWindow(): number {
    const since = this.prune();
    let count = this.failures.length;
    for (const entry of this.pending) if (entry.at > since) count++;
    return count;
  }

  /**
   * The share of recent answers that failed, with a prior of one failure in ten answers before there
   * are many (account-level failures and probes' are not in it).
   */
  answerFailureRate(): number {
    return (this.failedAnswers + ANSWER_PRIOR_FAILURES) / (Math.min(this.answered, MEMORY_ANSWERS) + ANSWER_PRIOR_ANSWERS);
  }

  stats(): FailureGuardStats {
    return { peakInFlight: this.peak, probation: this.probation !== undefined };
  }

  /**
   * Resolves with a permit to send now, or `undefined` when the run stopped first. FIFO. `probe`: a
   * suspended account's probe (counted as a certain failure until answered).
   */
  async permit(probe = false): Promise<Permit | undefined> {
    // Answers that have arrived are read first: after a stall of the event loop, the timers that admit
    // sends run before the sockets are read, and a failure already answered would come too late to
    // hold them.
    await afterPendingIo();
    if (this.stopper.stopped) return undefined;
    if (this.queue.length === 0 && this.allows(probe)) return this.grant(probe);
    const waiting = new Promise<Permit | undefined>((resolve) => this.queue.push({ probe, resolve }));
    this.pump();
    return waiting;
  }

  /** Clears the timer; call when the run ends. */
  dispose(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** Whether one more request (a probe, or not) may be sent now. */
  private allows(probe: boolean): boolean {
    // The strict bound: every request unanswered counted as a failure. Adaptive counts every one, even
    // those older than the window, which is no looser (and needs no walk over them).
    if (this.mode === "strict") return this.inWindow() < this.maxFailures;
    this.prune();
    const failures = this.failures.length;
    if (failures + this.pending.size < this.maxFailures) return true;
    // An account that worked refused (401/403) and nothing sent after it has succeeded: it may be the API
    // key, so every account's requests may fail together and no failure rate predicts them. Count every
    // unanswered request as a failure until a success says otherwise.
    if (this.lastRevoked > this.lastSuccess) return false;
    let suspects = this.suspects;
    let others = this.pending.size - suspects - this.probes;
    const certain = this.probes + (probe ? 1 : 0);
    if (this.probation) {
      if (suspects > 0) return false; // one probe at a time, and none before the suspects are answered
      if (!probe) suspects = 1;
    } else if (!probe) others += 1;
    const rate = this.failureRate();
    const expected = others * rate;
    return failures + certain + suspects + expected + CONFIDENCE_Z * Math.sqrt(expected) <= this.maxFailures;
  }

  /** Drops failures older than the window; returns the window's start. */
  private prune(): number {
    const since = this.clock.now() - this.windowMs;
    while (this.failures.length > 0 && (this.failures[0] ?? 0) <= since) this.failures.shift();
    while (this.explained.length > 0 && (this.explained[0] ?? 0) <= since) this.explained.shift();
    return since;
  }

  /**
   * An upper estimate of the chance that a request in flight fails, from the latest answers. Failures
   * that take longer to answer than successes stay in flight longer, so they are a larger share of what
   * is in flight than of what is answered: the rate is weighted by the two mean answer times.
   */
  private failureRate(): number {
    const overall = (this.failedAnswers + PRIOR_FAILURES) / (Math.min(this.answered, MEMORY_ANSWERS) + PRIOR_FAILURES);
    const rate = this.failedRecently < RECENT_FAILURES ? overall : Math.max(overall, this.failedRecently / Math.min(this.answered, RECENT_ANSWERS));
    if (this.successMs === undefined || this.failureMs === undefined || this.failureMs <= this.successMs) return rate;
    const slower = rate * this.failureMs;
    return slower / (slower + (1 - rate) * this.successMs);
  }

  /** Remembers an answer for the failure rate, forgetting the oldest beyond `MEMORY_ANSWERS` (and `RECENT_ANSWERS`). */
  private remember(failed: 0 | 1): void {
    const slot = this.answered % MEMORY_ANSWERS;
    if (this.answered >= MEMORY_ANSWERS) this.failedAnswers -= this.answers[slot] ?? 0;
    if (this.answered >= RECENT_ANSWERS) this.failedRecently -= this.answers[(this.answered - RECENT_ANSWERS) % MEMORY_ANSWERS] ?? 0;
    this.answers[slot] = failed;
    this.failedAnswers += failed;
    this.failedRecently += failed;
    this.answered++;
  }

  private grant(probe: boolean): Permit {
    const entry: Pending = { at: this.clock.now(), seq: this.sends++, probe };
    this.pending.add(entry);
    if (this.pending.size > this.peak) this.peak = this.pending.size;
    if (probe) this.probes++;
    else if (this.probation) this.suspects++;
    let settled = false;
    return {
      sentAt: entry.at,
      settle: (result, detail, context) => {
        if (settled) return;
        settled = true;
        this.pending.delete(entry);
        if (probe) this.probes--;
        else if (this.probation && entry.seq >= this.probation.since) this.suspects--;
        this.record(entry, result, detail, context);
        this.pump();
      },
    };
  }

  private record({ at, seq, probe }: Pending, result: SendResult, detail: string | undefined, context: SendContext | undefined): void {
    if (result === "neutral") return;
    if (result === "failure" && (context?.exempt === true || probe)) {
      // Explained by its account: it counts towards Merge's limit and never starts a probation. A row's
      // failure on a new account still says how often rows fail: it enters the failure rate (an
      // account-level one, or a probe's, says nothing of the others).
      insertSorted(this.failures, at);
      insertSorted(this.explained, at);
      if (!probe && context?.accountLevel !== true) this.remember(1);
      if (!probe && seq > this.lastSuccess) this.pushRun(seq, detail, context);
      return;
    }
    this.remember(result === "failure" ? 1 : 0);
    const took = Math.max(1, this.clock.now() - at);
    if (result === "success") {
      this.successMs = weighted(this.successMs, took);
      if (seq > this.lastSuccess) {
        this.lastSuccess = seq;
        this.run = this.run.filter((failure) => failure.seq > seq);
      }
      // Only a request sent after the latest failure says the cause has passed.
      if (this.probation && seq <= this.probation.lastFailure) return;
      this.probation = undefined;
      this.suspects = 0;
      return;
    }
    this.failureMs = weighted(this.failureMs, took);
    insertSorted(this.failures, at);
    if (!this.probation || seq < this.probation.since) {
      this.probation = { since: seq, lastFailure: Math.max(seq, this.probation?.lastFailure ?? seq) };
      this.suspects = 0;
      for (const entry of this.pending) if (entry.seq >= seq && !entry.probe) this.suspects++;
    } else if (seq > this.probation.lastFailure) this.probation.lastFailure = seq;
    if (seq > this.lastSuccess) this.pushRun(seq, detail, context);
  }

  /** A failure joins the run; the run stops the whole run when it is long, or spans accounts that worked. */
  private pushRun(seq: number, detail: string | undefined, context: SendContext | undefined): void {
    const revoked = context?.accountLevel === true && context.established;
    if (revoked) this.lastRevoked = Math.max(this.lastRevoked, seq);
    this.run.push({ seq, detail: detail ?? "failed", account: context?.account, revoked });
    const accounts = new Set<string | undefined>();
    for (const failure of this.run) if (failure.revoked) accounts.add(failure.account);
    const every = accounts.size >= this.stopAfterAccounts;
    if (this.run.length >= this.stopAfterConsecutive || every) {
      this.stopper.stop(
        `failure guard: the last ${this.run.length} requests all failed (${summarize(this.run.map((failure) => failure.detail))})` +
          (every ? ` on ${accounts.size} linked accounts that had worked, at once (is the API key revoked?)` : "") +
          `; stopped so that Merge's global limit (more than ${MERGE_FAILURE_LIMIT} failing requests from one IP in ${MERGE_FAILURE_WINDOW_MS / 1000} s) does not block every linked account`,
      );
    }
  }

  /** Lets waiters through while the guard allows; otherwise wakes up when the oldest entry leaves the window. */
  private pump(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    for (let next = this.queue[0]; next && !this.stopper.stopped && this.allows(next.probe); next = this.queue[0]) {
      this.queue.shift();
      next.resolve(this.grant(next.probe));
    }
    if (this.queue.length === 0 || this.stopper.stopped) return;
    const now = this.clock.now();
    const since = now - this.windowMs;
    let oldest = this.failures[0] ?? Infinity;
    if (this.mode === "strict") for (const entry of this.pending) if (entry.at > since && entry.at < oldest) oldest = entry.at;
    // Adaptive waits with no failure in sight are its slow start, not news; nor are those of failures
    // explained by a suspended account (reported as such).
    if ((this.mode === "strict" || this.failures.length > this.explained.length) && now - this.warnedAt >= this.windowMs) {
      this.warnedAt = now;
      this.options.logger?.warn?.(
        `Failure guard: ${this.failures.length} failing requests in the last ${this.windowMs / 1000} s and ${this.pending.size} unanswered; sending waits so that ` +
          `Merge never sees more than ${this.maxFailures} failures in ${MERGE_FAILURE_WINDOW_MS / 1000} s (its global limit, which would block every linked account)`,
      );
    }
    // An unanswered request wakes the queue when it settles; the timer covers entries ageing out.
    if (oldest !== Infinity) this.cancelTimer = this.clock.setTimeout(() => this.pump(), oldest + this.windowMs - now + 1);
  }
}

/** Inserts a failure's send time in order: answers may come back out of order. */
function insertSorted(times: number[], at: number): void {
  let i = times.length;
  while (i > 0 && (times[i - 1] ?? 0) > at) i--;
  times.splice(i, 0, at);
}

/** An exponentially weighted mean with the next value added (the value itself when there is none yet). */
function weighted(mean: number | undefined, value: number): number {
  return mean === undefined ? value : mean + LATENCY_WEIGHT * (value - mean);
}

/** "400 Bad Request ×18, 500 Internal Server Error ×2". */
function summarize(details: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const detail of details) counts.set(detail, (counts.get(detail) ?? 0) + 1);
  return [...counts].map(([detail, n]) => `${detail} ×${n}`).join(", ");
}
