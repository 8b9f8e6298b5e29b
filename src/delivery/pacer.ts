/**
 * Per linked account pacing. Merge limits each linked account to 100, 400 or 600 requests a
 * minute by plan; a minute's worth sent at once would be refused, so requests start one at a time on a
 * schedule `60000 / rate` ms apart, from the first one (no credit builds up while idle). A turn granted
 * late by a busy event loop is made up by the next ones (the schedule, not the late start, sets the next
 * time), so a loaded machine keeps the rate; but never faster than half an interval apart, never more
 * than 250 ms behind, and never more than 105% of a sixth of the rate in any 10 s: the last starts are
 * kept to check it. Only the pacer's own lateness is made up: a turn that then waits elsewhere (for a
 * global slot, or the failure guard holding sends) longer than half an interval restarts the schedule
 * from its start, so the rows held back do not leave in a burst once the hold ends (a burst the guard
 * could not see fail: a key revoked during the hold fails every one of them).
 *
 * A 429 pauses the account for its `Retry-After` (or two intervals, at least 1 s, without one) and
 * halves its rate (once per burst: answers to requests sent before the last cut do not cut again, down
 * to 1/64 of the nominal rate); every 3 s without a 429 after the pause, the rate doubles (by at least
 * 10% of the nominal rate), up to the nominal rate. The next start is an interval at the rate now after the last
 * one, so a rate that grew back applies to the very next turn. Each account has its own pacer, lanes
 * and pause, so one throttled account never slows another. The fleet's scripts (`src/queue/lua/`)
 * apply the same rule with the same numbers (`rules.ts`).
 */
import {
  FLOOR_SHARE,
  MAX_LAG_MS,
  MIN_GAP_SHARE,
  MIN_PAUSE_MS,
  MINUTE_MS,
  PACE_WINDOW_MS,
  PAUSE_INTERVALS,
  RATE_PLANS,
  RECOVERY_SHARE,
  RECOVERY_STEP_MS,
  WINDOW_SHARE,
} from "./rules.js";
import { Semaphore, type Stopper } from "./waits.js";

export { FLOOR_SHARE, RATE_PLANS, RECOVERY_SHARE, RECOVERY_STEP_MS };

/** The rate `steps` recovery steps after `rate`, of an account whose nominal rate is `nominal`. */
function recoveredRate(rate: number, nominal: number, steps: number): number {
  for (let i = 0; i < steps && rate < nominal; i++) rate = Math.min(nominal, Math.max(2 * rate, rate + RECOVERY_SHARE * nominal));
  return rate;
}

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
  /** When the last request was due on the schedule: the next is due an interval (at the rate now) after. */
  private lastDue = -Infinity;
  /** Start times within the last `PACE_WINDOW_MS`, oldest first. */
  private readonly starts: number[] = [];
  private pausedUntil = -Infinity;
  /** When the rate was last cut. */
  private lastCut = -Infinity;
  /** Where the next recovery step counts from: the end of the last 429's pause, or the last step. */
  private lastChange = -Infinity;
  /** One row at a time between its turn and its send: the gap between sends is the gap between turns. */
  private readonly turn: Semaphore;
  /** When the current turn was granted: the wait from then to its send was spent elsewhere. */
  private grantedAt = -Infinity;

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
      this.rate = recoveredRate(this.rate, this.nominalPerMinute, steps);
      this.lastChange += steps * RECOVERY_STEP_MS;
      this.onChange({ kind: "recovered", ratePerMinute: this.rate });
    }
    return this.rate;
  }

  /** Milliseconds between two starts at the rate now. */
  interval(): number {
    return MINUTE_MS / this.ratePerMinute();
  }

  /**
   * Waits for this account's turn to send: resolves `true` once the interval since the last start has
   * passed and no pause is on; `false` when the run stopped. Call `sent()` (or `giveBack()`) after.
   */
  async waitTurn(): Promise<boolean> {
    if (!(await this.turn.acquire())) return false;
    const clock = this.stopper.clock;
    // A 429 may arrive during the wait and push the start further, and a recovery step bring it nearer:
    // look again after each sleep, and at the next step.
    for (let wait = this.readyAt() - clock.now(); wait > 0; wait = this.readyAt() - clock.now()) {
      const step = this.rate < this.nominalPerMinute ? this.lastChange + RECOVERY_STEP_MS - clock.now() : Infinity;
      if (!(await this.stopper.sleep(Math.max(1, Math.min(wait, step))))) {
        this.turn.release();
        return false;
      }
    }
    this.grantedAt = clock.now();
    return true;
  }

  /** The request of the current turn starts now. */
  sent(): void {
    const now = this.stopper.clock.now();
    const interval = this.interval();
    const due = Math.max(this.lastDue + interval, this.pausedUntil);
    // On schedule, or late by a busy event loop: the next is due an interval after this one was due.
    // Far behind (idle), or held after the turn (a global slot, the failure guard): the schedule restarts from now.
    const heldElsewhere = now - this.grantedAt > interval * MIN_GAP_SHARE;
    this.lastDue = now - due <= MAX_LAG_MS && !heldElsewhere ? due : now;
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
    // Recovery counts from the end of the pause: a pause as long as a step must not undo the cut unseen.
    this.lastChange = this.pausedUntil;
    this.onChange({ kind: "throttled", ratePerMinute: this.rate, pauseMs });
  }

  /** The earliest time the next request may start: its schedule, the pause, the gap and the window allow it. */
  private readyAt(): number {
    const now = this.stopper.clock.now();
    while (this.starts.length > 0 && (this.starts[0] ?? 0) <= now - PACE_WINDOW_MS) this.starts.shift();
    const interval = this.interval();
    let at = Math.max(this.lastDue + interval, this.pausedUntil, (this.starts.at(-1) ?? -Infinity) + interval * MIN_GAP_SHARE);
    const most = Math.max(1, Math.floor((this.rate / (MINUTE_MS / PACE_WINDOW_MS)) * WINDOW_SHARE));
    if (this.starts.length >= most) at = Math.max(at, (this.starts[this.starts.length - most] ?? 0) + PACE_WINDOW_MS);
    return at;
  }
}

/** A rate given as a number or a plan, as requests a minute (`launch` by default); `undefined` when invalid. */
export function resolveRate(rate: unknown): number | undefined {
  if (rate === undefined) return RATE_PLANS.launch;
  if (rate === "launch" || rate === "professional" || rate === "enterprise") return RATE_PLANS[rate];
  return typeof rate === "number" && Number.isFinite(rate) && rate > 0 ? rate : undefined;
}
