/**
 * Per linked account pacing (issue 11). Merge limits each linked account to 100, 400 or 600 requests a
 * minute by plan; a minute's worth sent at once would be refused, so requests start one at a time on a
 * schedule `60000 / rate` ms apart, from the first one (no credit builds up while idle). A turn granted
 * late by a busy event loop is made up by the next ones (the schedule, not the late start, sets the next
 * time), so a loaded machine keeps the rate; but never faster than half an interval apart, never more
 * than 250 ms behind (a longer wait elsewhere restarts the schedule instead of bursting), and never more
 * than 105% of a sixth of the rate in any 10 s: the last starts are kept to check it.
 *
 * A 429 pauses the account for its `Retry-After` (or two intervals, at least 1 s, without one) and
 * halves its rate (once per burst: answers to requests sent before the last cut do not cut again, down
 * to 1/64 of the nominal rate); every 10 s without a 429 gives back 10% of the nominal rate. Each
 * account has its own pacer, lanes and pause, so one throttled account never slows another.
 */
import { Semaphore, type Stopper } from "./waits.js";

/** Merge's plans and their per-account limit, requests a minute. */
export const RATE_PLANS = { launch: 100, professional: 400, enterprise: 600 } as const;

/** Catching up with the schedule: starts at least this share of an interval apart. */
const MIN_GAP_SHARE = 0.5;
/** Further behind the schedule than this, it restarts from now (no burst after a long wait). */
const MAX_LAG_MS = 250;
/** The most starts in any `WINDOW_MS`, as a share of the rate's sixth. */
const WINDOW_SHARE = 1.05;
const WINDOW_MS = 10_000;
/** Without `Retry-After`, a 429 pauses for this many intervals (and at least `MIN_PAUSE_MS`). */
const PAUSE_INTERVALS = 2;
const MIN_PAUSE_MS = 1_000;
/** Recovery: every `RECOVERY_STEP_MS` without a 429, `RECOVERY_SHARE` of the nominal rate comes back. */
const RECOVERY_STEP_MS = 10_000;
const RECOVERY_SHARE = 0.1;
/** The rate is never cut below this share of the nominal rate. */
const FLOOR_SHARE = 1 / 64;

/** What a pacer reports when its rate changes. */
export interface PaceChange {
  /** "throttled": a 429 paused the account and cut its rate; "recovered": the rate grew back. */
  kind: "throttled" | "recovered";
  /** The rate now, requests a minute. */
  ratePerMinute: number;
  /** For "throttled": how long the account is paused, in milliseconds. */
  pauseMs?: number;
}

export class AccountPacer {
  /** Requests in flight for this account, at most `perAccountConcurrency`. */
  readonly lanes: Semaphore;
  private rate: number;
  /** When the next request is due on the schedule. */
  private nextStart = -Infinity;
  /** Start times within the last `WINDOW_MS`, oldest first. */
  private readonly starts: number[] = [];
  private pausedUntil = -Infinity;
  /** When the rate was last cut, or grew back (recovery counts from the later of them). */
  private lastCut = -Infinity;
  private lastChange = -Infinity;
  /** One row at a time between its turn and its send: the gap between sends is the gap between turns. */
  private readonly turn: Semaphore;

  constructor(
    readonly nominalPerMinute: number,
    perAccountConcurrency: number,
    private readonly stopper: Stopper,
    private readonly onChange: (change: PaceChange) => void = () => {},
  ) {
    this.rate = nominalPerMinute;
    this.lanes = new Semaphore(perAccountConcurrency, stopper);
    this.turn = new Semaphore(1, stopper);
  }

  /** The rate now, requests a minute, after any recovery due. */
  ratePerMinute(): number {
    const now = this.stopper.clock.now();
    if (this.rate < this.nominalPerMinute && now - this.lastChange >= RECOVERY_STEP_MS) {
      const steps = Math.floor((now - this.lastChange) / RECOVERY_STEP_MS);
      this.rate = Math.min(this.nominalPerMinute, this.rate + steps * RECOVERY_SHARE * this.nominalPerMinute);
      this.lastChange += steps * RECOVERY_STEP_MS;
      this.onChange({ kind: "recovered", ratePerMinute: this.rate });
    }
    return this.rate;
  }

  /** Milliseconds between two starts at the rate now. */
  interval(): number {
    return 60_000 / this.ratePerMinute();
  }

  /**
   * Waits for this account's turn to send: resolves `true` once the interval since the last start has
   * passed and no pause is on; `false` when the run stopped. Call `sent()` (or `giveBack()`) after.
   */
  async waitTurn(): Promise<boolean> {
    if (!(await this.turn.acquire())) return false;
    const clock = this.stopper.clock;
    // A 429 may arrive during the wait and push the start further: look again after each sleep.
    for (let wait = this.readyAt() - clock.now(); wait > 0; wait = this.readyAt() - clock.now()) {
      if (!(await this.stopper.sleep(wait))) {
        this.turn.release();
        return false;
      }
    }
    return true;
  }

  /** The request of the current turn starts now. */
  sent(): void {
    const now = this.stopper.clock.now();
    const due = Math.max(this.nextStart, this.pausedUntil);
    // On schedule, or late by a busy event loop: the next is due an interval after this one was due.
    // Far behind (idle, a long wait elsewhere): the schedule restarts from now.
    this.nextStart = (now - due <= MAX_LAG_MS ? due : now) + this.interval();
    this.starts.push(now);
    this.turn.release();
  }

  /** The current turn ends without sending (the run stopped while it waited for a global slot). */
  giveBack(): void {
    this.turn.release();
  }

  /**
   * A request sent at `sentAt` was answered 429: pause for `retryAfterMs` (or a default), and cut the
   * rate by half unless it was already cut after that request left.
   */
  throttled(retryAfterMs: number | undefined, sentAt: number): void {
    const now = this.stopper.clock.now();
    const interval = this.interval();
    const pauseMs = retryAfterMs ?? Math.max(MIN_PAUSE_MS, PAUSE_INTERVALS * interval);
    this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    if (sentAt > this.lastCut) {
      this.rate = Math.max(this.nominalPerMinute * FLOOR_SHARE, this.rate / 2);
      this.lastCut = now;
    }
    this.lastChange = now;
    this.onChange({ kind: "throttled", ratePerMinute: this.rate, pauseMs });
  }

  /** The earliest time the next request may start: its schedule, the pause, the gap and the window allow it. */
  private readyAt(): number {
    const now = this.stopper.clock.now();
    while (this.starts.length > 0 && (this.starts[0] ?? 0) <= now - WINDOW_MS) this.starts.shift();
    const interval = this.interval();
    let at = Math.max(this.nextStart, this.pausedUntil, (this.starts.at(-1) ?? -Infinity) + interval * MIN_GAP_SHARE);
    const most = Math.max(1, Math.floor(((this.rate / 6) * WINDOW_SHARE * WINDOW_MS) / 10_000));
    if (this.starts.length >= most) at = Math.max(at, (this.starts[this.starts.length - most] ?? 0) + WINDOW_MS);
    return at;
  }
}

/** A rate given as a number or a plan, as requests a minute (`launch` by default); `undefined` when invalid. */
export function resolveRate(rate: unknown): number | undefined {
  if (rate === undefined) return RATE_PLANS.launch;
  if (rate === "launch" || rate === "professional" || rate === "enterprise") return RATE_PLANS[rate];
  return typeof rate === "number" && Number.isFinite(rate) && rate > 0 ? rate : undefined;
}
