/**
 * Merge's global failure limit (issue 11): more than 20 failing requests (status >= 400 other than 429)
 * from one IP in 10 s blocks every linked account of the organization, not only the one at fault. The
 * guard counts by send time: a request may be sent only while the failures sent in the last 10 s plus
 * the requests still unanswered that were sent in the last 10 s are fewer than 20. Any 10 s window then
 * holds at most 20 failures, whatever the answers turn out to be: when its last request was sent, every
 * earlier one in the window was counted as failed or as possibly failing.
 *
 * The guard's window is 12 s, not 10: Merge counts at its end, by arrival, and requests reach it after
 * varying delays; 2 s of margin keeps two requests sent 10.1 s apart from arriving 9.9 s apart.
 *
 * The price: no more than 20 requests younger than 10 s can be unanswered at once, so the importer's
 * throughput is at most 20 / latency (20 requests a second at 1 s per create) across accounts, and
 * failures go at most 20 every 12 s.
 *
 * When the last 20 answers in a row were all failures (an API key revoked, a schema the CRM refuses,
 * a server answering 400 to everything), going on at 2 a second would only feed the limit: the guard
 * stops the run and says why. 429 and requests never sent count neither way.
 */
import type { Logger } from "../index.js";
import type { Clock, Stopper } from "./waits.js";

/** How a request sent under a permit ended. */
export type SendResult = "success" | "failure" | "neutral";

/** A request the guard let through: `settle` it exactly once. */
export interface Permit {
  readonly sentAt: number;
  /** `detail` names a failure in the stop reason (for example "400 Bad Request"). */
  settle(result: SendResult, detail?: string): void;
}

export interface FailureGuardOptions {
  /** Failures allowed in any window. @default 20 */
  maxFailures?: number;
  /** The window the guard counts in, milliseconds (Merge's 10 s and a margin for delays). @default 12000 */
  windowMs?: number;
  /** Consecutive failures that stop the run. @default 20 */
  stopAfterConsecutive?: number;
  logger?: Logger | undefined;
}

export class FailureGuard {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly stopAfterConsecutive: number;
  /** Send times of failed requests, oldest first (pruned past the window). */
  private failures: number[] = [];
  /** Send times of unanswered requests. */
  private readonly pending = new Set<{ at: number }>();
  private readonly queue: Array<(permit: Permit | undefined) => void> = [];
  private cancelTimer: (() => void) | undefined;
  private consecutive = 0;
  private readonly recent: string[] = [];
  private warnedAt = -Infinity;
  private readonly clock: Clock;

  constructor(private readonly stopper: Stopper, private readonly options: FailureGuardOptions = {}) {
    this.maxFailures = options.maxFailures ?? 20;
    this.windowMs = options.windowMs ?? 12_000;
    this.stopAfterConsecutive = options.stopAfterConsecutive ?? 20;
    this.clock = stopper.clock;
    stopper.onStop(() => {
      this.cancelTimer?.();
      this.cancelTimer = undefined;
      for (const waiter of this.queue.splice(0)) waiter(undefined);
    });
  }

  /** Failures and unanswered requests sent within the window ending now: what a new send must stay under. */
  inWindow(): number {
    const since = this.clock.now() - this.windowMs;
    while (this.failures.length > 0 && (this.failures[0] ?? 0) <= since) this.failures.shift();
    let count = this.failures.length;
    for (const entry of this.pending) if (entry.at > since) count++;
    return count;
  }

  /** Resolves with a permit to send now, or `undefined` when the run stopped first. FIFO. */
  permit(): Promise<Permit | undefined> {
    if (this.stopper.stopped) return Promise.resolve(undefined);
    if (this.queue.length === 0 && this.inWindow() < this.maxFailures) return Promise.resolve(this.grant());
    const waiting = new Promise<Permit | undefined>((resolve) => this.queue.push(resolve));
    this.pump();
    return waiting;
  }

  /** Clears the timer; call when the run ends. */
  dispose(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private grant(): Permit {
    const entry = { at: this.clock.now() };
    this.pending.add(entry);
    let settled = false;
    return {
      sentAt: entry.at,
      settle: (result, detail) => {
        if (settled) return;
        settled = true;
        this.pending.delete(entry);
        this.record(entry.at, result, detail);
        this.pump();
      },
    };
  }

  private record(at: number, result: SendResult, detail: string | undefined): void {
    if (result === "neutral") return;
    if (result === "success") {
      this.consecutive = 0;
      this.recent.length = 0;
      return;
    }
    // Sorted by send time: answers may come back out of order.
    let i = this.failures.length;
    while (i > 0 && (this.failures[i - 1] ?? 0) > at) i--;
    this.failures.splice(i, 0, at);
    this.consecutive++;
    this.recent.push(detail ?? "failed");
    if (this.recent.length > this.stopAfterConsecutive) this.recent.shift();
    if (this.consecutive >= this.stopAfterConsecutive) {
      this.stopper.stop(
        `failure guard: the last ${this.consecutive} requests all failed (${summarize(this.recent)}); stopped so that Merge's ` +
          "global limit (more than 20 failing requests from one IP in 10 s) does not block every linked account",
      );
    }
  }

  /** Lets waiters through while the window allows; otherwise wakes up when the oldest entry leaves it. */
  private pump(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.queue.length > 0 && !this.stopper.stopped && this.inWindow() < this.maxFailures) this.queue.shift()?.(this.grant());
    if (this.queue.length === 0 || this.stopper.stopped) return;
    const now = this.clock.now();
    const since = now - this.windowMs;
    let oldest = this.failures[0] ?? Infinity;
    for (const entry of this.pending) if (entry.at > since && entry.at < oldest) oldest = entry.at;
    if (now - this.warnedAt >= this.windowMs) {
      this.warnedAt = now;
      this.options.logger?.warn?.(
        `Failure guard: ${this.inWindow()} failing or unanswered requests in the last ${this.windowMs / 1000} s; sending waits so that ` +
          `Merge never sees more than ${this.maxFailures} failures in 10 s (its global limit, which would block every linked account)`,
      );
    }
    // An unanswered request wakes the queue when it settles; the timer covers entries ageing out.
    if (oldest !== Infinity) this.cancelTimer = this.clock.setTimeout(() => this.pump(), oldest + this.windowMs - now + 1);
  }
}

/** "400 Bad Request ×18, 500 Internal Server Error ×2". */
function summarize(details: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const detail of details) counts.set(detail, (counts.get(detail) ?? 0) + 1);
  return [...counts].map(([detail, n]) => `${detail} ×${n}`).join(", ");
}
