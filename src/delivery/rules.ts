/**
 * The numbers of delivery's rules, each named once: the pacer (`pacer.ts`), the failure guard
 * (`failure-guard.ts`) and account health (`account-health.ts`) use them in one process, and the fleet's
 * Redis scripts (`src/queue/lua/`) receive them as ARGV, so the two never drift apart.
 */

/** A minute, milliseconds: the unit of Merge's per-account rate limits. */
export const MINUTE_MS = 60_000;

/** Merge's plans and their per-account limit, requests a minute. */
export const RATE_PLANS = { launch: 100, professional: 400, enterprise: 600 } as const;

/** Merge blocks every linked account of an organization after more than this many failing requests from one IP... */
export const MERGE_FAILURE_LIMIT = 20;
/** ...in this many milliseconds. */
export const MERGE_FAILURE_WINDOW_MS = 10_000;

// The pacer.

/** The pacer checks its bursts over this window: a minute's worth sent in one of its sixths would be refused. */
export const PACE_WINDOW_MS = 10_000;
/** The most starts in any `PACE_WINDOW_MS`, as a share of the rate's share of it: a little slack over the mean. */
export const WINDOW_SHARE = 1.05;
/** Catching up with the schedule: starts at least this share of an interval apart, never in a burst. */
export const MIN_GAP_SHARE = 0.5;
/** Further behind the schedule than this, it restarts from now: no burst after a long wait elsewhere. */
export const MAX_LAG_MS = 250;
/** Without `Retry-After`, a 429 pauses the account for this many intervals... */
export const PAUSE_INTERVALS = 2;
/** ...and at least this long, milliseconds: a pause shorter than an answer's latency would not be seen. */
export const MIN_PAUSE_MS = 1_000;
/**
 * Recovery: every `RECOVERY_STEP_MS` without a 429 the rate doubles, and grows by at least
 * `RECOVERY_SHARE` of the nominal rate, up to the nominal rate. A cut is a guess at how far over the
 * limit the account was, so the way back is as steep as the way down: one cut is undone in one step, and
 * the floor in five (15 s). A step of 3 s is long enough for the answers to the writes sent at the rate
 * just reached (Merge answers a write in about a second) to report a 429 before the next doubling; a
 * 10% share keeps the first steps up from the floor from crawling (1/64, then 1/32, would take 30 s).
 */
export const RECOVERY_STEP_MS = 3_000;
export const RECOVERY_SHARE = 0.1;
/** The rate is never cut below this share of the nominal rate: six halvings, and a 429 still gets through. */
export const FLOOR_SHARE = 1 / 64;

// The failure guard.

/** The guard's settings when none are given (`FailureGuardOptions`); the fleet always uses them. */
export const GUARD_DEFAULTS = {
  /** Failures allowed in any window: Merge's limit itself. */
  maxFailures: MERGE_FAILURE_LIMIT,
  /** Counted by send time, with 2 s of margin: Merge counts by arrival, and requests reach it after varying delays. */
  windowMs: MERGE_FAILURE_WINDOW_MS + 2_000,
  /** Failures in a row that stop a run: going on would only feed Merge's limit. */
  stopAfterConsecutive: 20,
  /** Accounts that had worked, failing 401 or 403 in one run of failures: an API key revoked. */
  stopAfterAccounts: 3,
} as const;
/**
 * The 99.997% point of a normal distribution: bound(μ) = μ + Z √μ. (3.3, the 99.95% point, let 21
 * failures into a 10 s window in one of ten runs of a load whose failures answer 2.5× slower than its
 * successes.)
 */
export const CONFIDENCE_Z = 4;
/** Pseudo-failures of the failure-rate estimate, (failures + 3) / (answers + 3): the "rule of three" when none failed. */
export const PRIOR_FAILURES = 3;
/** The failure rate is estimated over this many of the latest answers (of any age)... */
export const MEMORY_ANSWERS = 1_000;
/** ...or, once `RECENT_FAILURES` of them failed, over this many: a rate that rises is seen within them. */
export const RECENT_ANSWERS = 100;
export const RECENT_FAILURES = 3;
/** The weight of each new answer in the mean answer times: about the last twenty answers count. */
export const LATENCY_WEIGHT = 0.05;
/** The failure rate account health judges runs by assumes one failure in ten answers before there are many. */
export const ANSWER_PRIOR_FAILURES = 1;
export const ANSWER_PRIOR_ANSWERS = 10;

// Account health.

/** When an account is suspended and how it comes back, when the options do not say (`AccountHealthOptions`). */
export const HEALTH_DEFAULTS = { suspendAfter: 3, probeBackoffMs: 15_000, maxProbeBackoffMs: 300_000, probationInFlight: 1 } as const;
/** A run of failures that suspends an account must be at most this likely from rows failing on their own. */
export const RUN_CHANCE = 1e-6;
/** Never more failures in a row than the failure guard's default run: past it, the guard has stopped the run. */
export const MOST_NEEDED = GUARD_DEFAULTS.stopAfterConsecutive;
/** Healthy accounts past this many are forgotten: one process's memory stays bounded over any number of accounts. */
export const MAX_TRACKED_ACCOUNTS = 10_000;
