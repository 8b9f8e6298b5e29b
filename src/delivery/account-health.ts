/**
 * Which linked accounts may be written to now, in one process (the fleet keeps the same rules in Redis:
 * `src/queue/lua/`). Some accounts are always broken at scale (permissions revoked, a relink
 * needed, a custom required field), and Merge answers their writes 401, 403, or 400 for every row while
 * the others are fine. The answer to a broken account is to stop writing to that account, not to slow
 * every account:
 *
 * - An account-level failure suspends the account: a 401 or 403, `can_make_request: false` in its meta,
 *   or failures in a row from it while another account succeeded meanwhile: `suspendAfter` of them, or
 *   more when rows fail often anyway (one in five refused for their content makes three in a row
 *   common): as many as make such a run a one-in-a-million chance at the failure rate of recent
 *   answers (`runNeeded`).
 * - A suspended account sends nothing but one probe after a back-off (`probeBackoffMs`, doubling after
 *   each failed probe up to `maxProbeBackoffMs`). A probe that succeeds resumes the account at its rate.
 * - A new account is on probation until one of its writes succeeds: at most `probationInFlight` writes
 *   in flight, so that accounts broken from the start cost a failure or two each, not their in-flight
 *   count.
 *
 * What the failure guard makes of an answer follows from it (`exempt`): failures of an account on
 * probation or suspended, and of probes, are explained by their account and never slow the healthy
 * accounts; they still count towards Merge's global limit.
 */
import { HEALTH_DEFAULTS, MAX_TRACKED_ACCOUNTS, MOST_NEEDED, RUN_CHANCE } from "./rules.js";
import type { Clock } from "./waits.js";

export { HEALTH_DEFAULTS, RUN_CHANCE };

/** When an account is suspended, and how it comes back. */
export interface AccountHealthOptions {
  /** Failures in a row from one account, while another account succeeds, that suspend it. @default 3 */
  suspendAfter?: number;
  /** The first wait before a suspended account's probe, milliseconds. @default 15000 */
  probeBackoffMs?: number;
  /** The longest wait between probes (the back-off doubles after each failed probe), milliseconds. @default 300000 */
  maxProbeBackoffMs?: number;
  /** Writes in flight of an account before one has succeeded. @default 1 */
  probationInFlight?: number;
}

/**
 * Failures in a row that suspend an account when a share `rate` of answers fail anyway: at least
 * `suspendAfter`, and enough that `rate` to that power is at most `RUN_CHANCE`.
 */
export function runNeeded(suspendAfter: number, rate: number): number {
  if (!(rate > 0)) return suspendAfter;
  if (rate >= 1) return Math.max(suspendAfter, MOST_NEEDED);
  return Math.max(suspendAfter, Math.min(MOST_NEEDED, Math.ceil(Math.log(RUN_CHANCE) / Math.log(rate))));
}

/** Who a failed answer belongs to: the row, the account, or nobody in particular (transient). */
export type FailureOwner = "row" | "account" | "transient";

/** A suspended account, as reports show it. */
export interface Suspension {
  /** What suspended it: `"403 Forbidden ×3"`, `"RELINK_NEEDED"`. */
  reason: string;
  /** When it was suspended, epoch milliseconds. */
  since: number;
  /** When its next probe may be sent, epoch milliseconds. */
  probeAt: number;
}

/** What the health of the account says before a send. */
export type HealthCheck =
  | { kind: "send"; probe: boolean }
  | { kind: "held"; suspension: Suspension }
  | { kind: "wait"; ready: Promise<void> };

/** What an answer did to the account. */
export interface HealthAnswer {
  /** The failure is its account's (probation, suspension, probe): the guard must not slow the others for it. */
  exempt: boolean;
  /** Set when the account is suspended after this answer. */
  suspended?: Suspension;
  /** Set when this answer resumed the account (a probe succeeded). */
  resumed?: boolean;
}

interface Account {
  succeeded: boolean;
  inFlight: number;
  /** Failures in a row, and the answer (its place in `AccountHealthBook.answers`) that began them. */
  streak: number;
  streakFrom: number;
  suspension: { detail: string; count: number; since: number; probeAt: number; backoffMs: number; probing: boolean } | undefined;
  waiters: Array<() => void>;
}

/** The health of every linked account of a run (bounded: healthy accounts past `MAX_TRACKED_ACCOUNTS` are forgotten). */
export class AccountHealthBook {
  private readonly accounts = new Map<string, Account>();
  private readonly settings: Required<AccountHealthOptions>;
  /**
   * Answers so far, and the one at which any account last had a write succeed. By order, not time: a
   * success and a streak's first failure in one millisecond are still ordered (the fleet's scripts count
   * the same way).
   */
  private answers = 0;
  private lastSuccessAnswer = 0;

  /**
   * `failureRate`: the share of recent answers that failed (the failure guard's estimate), which sets
   * how many failures in a row suspend an account (`runNeeded`).
   */
  constructor(
    private readonly clock: Clock,
    options: AccountHealthOptions = {},
    private readonly failureRate: () => number = () => 0,
    private readonly epoch: () => number = Date.now,
  ) {
    this.settings = { ...HEALTH_DEFAULTS, ...options };
  }

  private of(name: string): Account {
    let account = this.accounts.get(name);
    if (!account) {
      if (this.accounts.size >= MAX_TRACKED_ACCOUNTS) {
        for (const [key, value] of this.accounts) if (!value.suspension && value.inFlight === 0 && value.waiters.length === 0) this.accounts.delete(key);
      }
      account = { succeeded: false, inFlight: 0, streak: 0, streakFrom: 0, suspension: undefined, waiters: [] };
      this.accounts.set(name, account);
    }
    return account;
  }

  /**
   * Whether the account may send now: a send (a probe when suspended and due), held, or wait for its
   * probation. A send is counted in flight from here: `answered` or `cancelled` ends it.
   */
  check(name: string): HealthCheck {
    const account = this.of(name);
    const suspension = account.suspension;
    if (suspension) {
      if (suspension.probing || this.epoch() < suspension.probeAt) return { kind: "held", suspension: this.view(suspension) };
      suspension.probing = true;
      account.inFlight++;
      return { kind: "send", probe: true };
    }
    if (!account.succeeded && account.inFlight >= this.settings.probationInFlight) {
      return { kind: "wait", ready: new Promise<void>((resolve) => account.waiters.push(resolve)) };
    }
    account.inFlight++;
    return { kind: "send", probe: false };
  }

  /** Whether the account had succeeded before (what a send's answer is judged by). */
  established(name: string): boolean {
    return this.of(name).succeeded;
  }

  /** The account's suspension, if any. */
  suspensionOf(name: string): Suspension | undefined {
    const suspension = this.accounts.get(name)?.suspension;
    return suspension && this.view(suspension);
  }

  /** The send `check` allowed did not happen (the run stopped, or the account was suspended meanwhile). */
  cancelled(name: string, probe: boolean): void {
    const account = this.ended(name);
    if (probe && account.suspension) account.suspension.probing = false;
  }

  /** The answer to a send: success, failure (with its owner and detail, "403 Forbidden"), or neutral (429). */
  answered(name: string, send: { probe: boolean; established: boolean }, result: "success" | "failure" | "neutral", owner?: FailureOwner, detail = "failed"): HealthAnswer {
    const account = this.ended(name);
    const suspension = account.suspension;
    const answer: HealthAnswer = { exempt: send.probe || !send.established || suspension !== undefined };
    const order = ++this.answers;
    if (result === "neutral") {
      if (send.probe && suspension) this.rearm(suspension, false);
    } else if (result === "success") {
      this.lastSuccessAnswer = order;
      account.succeeded = true;
      account.streak = 0;
      // Only a probe resumes: a write sent before the suspension proves nothing of the account now.
      if (suspension && send.probe) {
        account.suspension = undefined;
        answer.resumed = true;
      }
    } else {
      if (account.streak === 0) account.streakFrom = order;
      account.streak++;
      if (suspension) {
        suspension.count++;
        suspension.detail = detail;
        if (send.probe) this.rearm(suspension, true);
      } else if (owner === "account" || (account.streak >= runNeeded(this.settings.suspendAfter, this.failureRate()) && this.lastSuccessAnswer > account.streakFrom)) {
        this.suspend(account, detail, owner === "account" ? 1 : account.streak);
      }
    }
    if (account.suspension) answer.suspended = this.view(account.suspension);
    return answer;
  }

  /**
   * Suspends the account without a send (its meta says it cannot make requests, `reason` its
   * `linked_account_status`); a suspension whose probe was due is re-armed with a longer back-off.
   */
  suspendFor(name: string, reason: string): Suspension {
    const account = this.of(name);
    const suspension = account.suspension;
    if (!suspension) return this.view(this.suspend(account, reason, 0));
    suspension.detail = reason;
    if (suspension.probing || this.epoch() >= suspension.probeAt) this.rearm(suspension, true);
    return this.view(suspension);
  }

  /** The accounts suspended now. */
  suspended(): Array<{ account: string } & Suspension> {
    const out: Array<{ account: string } & Suspension> = [];
    for (const [account, value] of this.accounts) if (value.suspension) out.push({ account, ...this.view(value.suspension) });
    return out;
  }

  /** Wakes every account's probation waiters (the run stopped). */
  wakeAll(): void {
    for (const account of this.accounts.values()) for (const wake of account.waiters.splice(0)) wake();
  }

  /** A send of the account is over (answered or cancelled): its probation waiters may look again. */
  private ended(name: string): Account {
    const account = this.of(name);
    account.inFlight = Math.max(0, account.inFlight - 1);
    for (const wake of account.waiters.splice(0)) wake();
    return account;
  }

  private suspend(account: Account, detail: string, count: number): NonNullable<Account["suspension"]> {
    const now = this.epoch();
    const backoffMs = this.settings.probeBackoffMs;
    account.suspension = { detail, count, since: now, probeAt: now + backoffMs, backoffMs, probing: false };
    return account.suspension;
  }

  /** After a probe: the next one after the back-off, doubled when the probe failed. */
  private rearm(suspension: NonNullable<Account["suspension"]>, failed: boolean): void {
    if (failed) suspension.backoffMs = Math.min(this.settings.maxProbeBackoffMs, suspension.backoffMs * 2);
    suspension.probing = false;
    suspension.probeAt = this.epoch() + suspension.backoffMs;
  }

  private view(suspension: NonNullable<Account["suspension"]>): Suspension {
    return { reason: suspensionReason(suspension.detail, suspension.count), since: suspension.since, probeAt: suspension.probeAt };
  }
}

/** "403 Forbidden ×3"; a status of the account's meta ("RELINK_NEEDED") stands alone. */
export function suspensionReason(detail: string, count: number): string {
  return count > 0 ? `${detail} ×${count}` : detail;
}

/** Checks the health options; the problems by JSON pointer. */
export function healthProblems(options: AccountHealthOptions | undefined, at: string): Array<{ pointer: string; message: string }> {
  const problems: Array<{ pointer: string; message: string }> = [];
  if (options === undefined) return problems;
  if (typeof options !== "object" || options === null) return [{ pointer: at, message: "must be an object" }];
  for (const name of ["suspendAfter", "probationInFlight"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value >= 1)) problems.push({ pointer: `${at}/${name}`, message: "must be a whole number >= 1" });
  }
  for (const name of ["probeBackoffMs", "maxProbeBackoffMs"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) problems.push({ pointer: `${at}/${name}`, message: "must be a number > 0" });
  }
  return problems;
}
