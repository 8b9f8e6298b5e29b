/**
 * The numbers the fleet's scripts (`lua/`) are given as their ARGV[1]: delivery's rules, which the
 * in-process pacer, failure guard and account health use too (`src/delivery/rules.ts`), and the fleet's
 * own, which only Redis needs (how long a worker waits before asking again, the guard's hold, how long
 * state outlives its use). The Lua reads each under the name it has here, so none is typed twice.
 */
import {
  ANSWER_PRIOR_ANSWERS,
  ANSWER_PRIOR_FAILURES,
  CONFIDENCE_Z,
  FLOOR_SHARE,
  LATENCY_WEIGHT,
  MAX_LAG_MS,
  MEMORY_ANSWERS,
  MIN_GAP_SHARE,
  MIN_PAUSE_MS,
  MINUTE_MS,
  MOST_NEEDED,
  PACE_WINDOW_MS,
  PAUSE_INTERVALS,
  PRIOR_FAILURES,
  RECENT_ANSWERS,
  RECENT_FAILURES,
  RECOVERY_SHARE,
  RECOVERY_STEP_MS,
  RUN_CHANCE,
  WINDOW_SHARE,
} from "../delivery/rules.js";

/** The guard holds a send and no failure is about to leave its window: a worker asks again after this. */
export const GUARD_POLL_MS = 250;
/** During a probation the guard waits for a probe's answer, about a latency away: ask again sooner. */
export const PROBATION_POLL_MS = 100;
/** A new account's first write is in flight: its other jobs ask again after this. */
export const TRIAL_POLL_MS = 200;
/**
 * After `stopAfter` failures in a row, a worker does not stop (another may still be right to send): every
 * send is held this long, then one goes through, the hold doubling each time up to `HOLD_MAX_MS`.
 */
export const HOLD_FIRST_MS = 1_000;
export const HOLD_MAX_MS = 60_000;
/** Dead workers' requests are looked for at most this often: the walk over the unanswered is not free. */
export const REAP_EVERY_MS = 1_000;
/** A request unanswered this long is dropped, whoever sent it: a backstop for one nobody will ever settle. */
export const UNSETTLED_BACKSTOP_MS = 600_000;
/** A pacer untouched for an hour has recovered and its window is long past: Redis may forget it. */
export const PACE_TTL_MS = 3_600_000;
/** An account's health is kept 30 days after its last change: longer than any probe's back-off. */
export const HEALTH_TTL_MS = 2_592_000_000;

/** Every number a script uses, under its name here. */
export const SCRIPT_RULES = {
  MINUTE_MS,
  PACE_WINDOW_MS,
  WINDOW_SHARE,
  MIN_GAP_SHARE,
  MAX_LAG_MS,
  PAUSE_INTERVALS,
  MIN_PAUSE_MS,
  RECOVERY_STEP_MS,
  RECOVERY_SHARE,
  FLOOR_SHARE,
  CONFIDENCE_Z,
  PRIOR_FAILURES,
  MEMORY_ANSWERS,
  RECENT_ANSWERS,
  RECENT_FAILURES,
  LATENCY_WEIGHT,
  ANSWER_PRIOR_FAILURES,
  ANSWER_PRIOR_ANSWERS,
  RUN_CHANCE,
  MOST_NEEDED,
  GUARD_POLL_MS,
  PROBATION_POLL_MS,
  TRIAL_POLL_MS,
  HOLD_FIRST_MS,
  HOLD_MAX_MS,
  REAP_EVERY_MS,
  UNSETTLED_BACKSTOP_MS,
  PACE_TTL_MS,
  HEALTH_TTL_MS,
} as const;

/** `SCRIPT_RULES` as the scripts' ARGV[1] (cjson decodes it in `lua/includes/rules.lua`). */
export const SCRIPT_RULES_ARG = JSON.stringify(SCRIPT_RULES);
