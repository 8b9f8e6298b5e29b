/**
 * The fleet's `SendGate`: a send is admitted by Redis (`scripts.ts`), so each linked
 * account's health and pacing and the failure guard hold over every worker. A start reserved less than
 * a second ahead is waited for in the worker; further than that, or a guard hold, and the job goes back
 * to Redis, delayed (`later`), leaving the worker's slot to jobs of other accounts. A suspended
 * account's jobs go back until its next probe (`held`); the answer that resumes it is reported, so the
 * worker can bring its held jobs back at once.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../index.js";
import type { AccountHealthOptions } from "../delivery/account-health.js";
import type { Admission, SendGate } from "../delivery/deliver-row.js";
import type { FailureGuardMode } from "../delivery/failure-guard.js";
import { GUARD_DEFAULTS, MERGE_FAILURE_LIMIT, MERGE_FAILURE_WINDOW_MS } from "../delivery/rules.js";
import { fleetScript } from "./scripts.js";
import { GUARD_POLL_MS, SCRIPT_RULES_ARG } from "./script-rules.js";
import { sleep } from "../internal/sleep.js";

/** Reservations up to this far ahead are waited for in the worker. */
const HORIZON_MS = 1_000;
/** Guard waits longer than this, in all, send the job back to Redis. */
const GUARD_PATIENCE_MS = 2_000;
/** A new account's first write unanswered longer than this, and the job goes back to Redis. */
const PROBATION_PATIENCE_MS = 3_000;
/** A worker silent this long is dead: its requests in flight no longer count. */
export const DEAD_AFTER_MS = 15_000;
/** A worker beats its heart this often: several beats fit in `DEAD_AFTER_MS`, so a slow one is not taken for dead. */
const HEARTBEAT_EVERY_MS = 2_000;
/** The fleet's guard keeps the in-process guard's default bounds. */
const { maxFailures: MAX_FAILURES, windowMs: WINDOW_MS, stopAfterConsecutive: STOP_AFTER } = GUARD_DEFAULTS;
const WARN_EVERY_MS = 10_000;

export interface GateSettings {
  ratePerMinute: number;
  mode: FailureGuardMode;
  scope: string;
  worker: string;
  health: Required<AccountHealthOptions>;
  logger?: Logger | undefined;
  /** A probe succeeded: the account's held jobs may come back now. */
  onResumed?: ((account: string) => void) | undefined;
}

interface Scripted {
  mceAdmit(...args: (string | number)[]): Promise<unknown>;
  mceSettle(...args: (string | number)[]): Promise<unknown>;
  mceSuspend(...args: (string | number)[]): Promise<unknown>;
  mceHeartbeat(...args: (string | number)[]): Promise<unknown>;
}

/** Registers the scripts on a connection (once: ioredis sends EVALSHA, and the script on NOSCRIPT). */
function scripted(redis: Redis): Scripted {
  const known = redis as Redis & Partial<Scripted>;
  if (typeof known.mceAdmit !== "function") {
    redis.defineCommand("mceAdmit", { numberOfKeys: 10, lua: fleetScript("admit") });
    redis.defineCommand("mceSettle", { numberOfKeys: 10, lua: fleetScript("settle") });
    redis.defineCommand("mceSuspend", { numberOfKeys: 2, lua: fleetScript("suspend") });
    redis.defineCommand("mceHeartbeat", { numberOfKeys: 1, lua: fleetScript("heartbeat") });
  }
  return redis as Redis & Scripted;
}

/** The suspended linked accounts (a sorted set: account -> since), over every queue. */
export const SUSPENDED_ACCOUNTS = "mce:health:suspended";
/** A linked account's health (a hash: suspension, probe, probation, failures in a row). */
export function healthKey(account: string): string {
  return `mce:health:${account}`;
}
/** The jobs of a queue held for a suspended account (a set of job ids). */
export function heldKey(queue: string, account: string): string {
  return `mce:${queue}:held:${account}`;
}

export function guardKeys(scope: string): string[] {
  const g = `mce:guard:${scope}`;
  return [g, `${g}:pt`, `${g}:ps`, `${g}:f`, `${g}:r`];
}

/** The gate of one worker: its rate, its guard's scope, its name in the guard's records. */
export function redisGate(redis: Redis, settings: GateSettings, closing: () => boolean): SendGate {
  const commands = scripted(redis);
  const guard = guardKeys(settings.scope);
  const workers = `mce:guard:${settings.scope}:w`;
  const answers = `mce:guard:${settings.scope}:a`;
  let warnedAt = -Infinity;
  const paceKeys = (account: string) => [`mce:pace:${account}`, `mce:pace:${account}:starts`];
  const healthKeys = (account: string) => [healthKey(account), SUSPENDED_ACCOUNTS];
  const { suspendAfter, probeBackoffMs, maxProbeBackoffMs } = settings.health;
  const logger = settings.logger;
  /** Logs a suspension once per account and start (every worker sees it; each says it once). */
  const seen = new Map<string, number>();
  const suspendedNow = (account: string, reason: string, since: number, untilMs: number) => {
    if (seen.get(account) !== since) {
      if (seen.size > 10_000) seen.clear();
      seen.set(account, since);
      logger?.warn?.(`Account ${account}: suspended (${reason}) since ${new Date(since).toISOString()}; its jobs are held, one probe at ${new Date(untilMs).toISOString()}`);
    }
    return { reason, since, untilMs };
  };

  const warn = (failures: number, pending: number, run: number, waitMs: number) => {
    const now = Date.now();
    if (now - warnedAt < WARN_EVERY_MS || (failures === 0 && run < STOP_AFTER)) return;
    warnedAt = now;
    logger?.warn?.(
      run >= STOP_AFTER
        ? `Failure guard: the last ${run} requests all failed; every worker holds its sends for ${Math.round(waitMs / 100) / 10} s, then tries one (Merge blocks every linked account after more than ${MERGE_FAILURE_LIMIT} failures from one IP in ${MERGE_FAILURE_WINDOW_MS / 1000} s)`
        : `Failure guard: ${failures} failing requests in the last ${WINDOW_MS / 1000} s and ${pending} unanswered over the fleet; sending waits so that Merge never sees more than ${MAX_FAILURES} failures in ${MERGE_FAILURE_WINDOW_MS / 1000} s`,
    );
  };

  const admitOnce = async (account: string, pacedOnly: boolean) =>
    (await commands.mceAdmit(
      ...paceKeys(account),
      ...guard,
      workers,
      ...healthKeys(account),
      SCRIPT_RULES_ARG,
      settings.ratePerMinute,
      HORIZON_MS,
      settings.mode,
      MAX_FAILURES,
      WINDOW_MS,
      STOP_AFTER,
      settings.worker,
      DEAD_AFTER_MS,
      pacedOnly ? "1" : "0",
      probeBackoffMs,
    )) as [string, string, ...(string | number)[]];

  return {
    async admit(account) {
      let pacedOnly = false;
      let guardWaited = 0;
      let probationWaited = 0;
      for (;;) {
        if (closing()) return { kind: "later", untilMs: Date.now(), reason: "the worker is closing" };
        const answer = await admitOnce(account, pacedOnly);
        const [kind, wait] = answer;
        const waitMs = Number(wait);
        if (kind === "send") {
          const seq = Number(answer[2]);
          const probe = String(answer[3]) === "1";
          const established = String(answer[4]) === "1";
          const sentAt = waitMs;
          const settle = (result: string, throttled: boolean, retryAfterMs: number | undefined, owner = "", detail = "") =>
            commands.mceSettle(
              ...paceKeys(account),
              ...guard,
              answers,
              ...healthKeys(account),
              SCRIPT_RULES_ARG,
              result,
              seq,
              settings.worker,
              sentAt,
              throttled ? "1" : "0",
              retryAfterMs === undefined ? "" : retryAfterMs,
              settings.ratePerMinute,
              account,
              owner,
              detail,
              probe ? "1" : "0",
              established ? "1" : "0",
              suspendAfter,
              probeBackoffMs,
              maxProbeBackoffMs,
            ) as Promise<[number, string, string, number, string, string, string, number]>;
          return {
            kind: "send",
            permit: {
              sentAt,
              async settle(result, detail, owner) {
                const [run, , , suspended, reason, since, probeAt, resumed] = await settle(result, false, undefined, owner, detail);
                if (result === "failure" && run >= STOP_AFTER) warn(0, 0, run, 0);
                if (resumed === 1) {
                  logger?.info?.(`Account ${account}: its probe succeeded; resumed at its rate`);
                  settings.onResumed?.(account);
                }
                return { suspended: suspended === 1 ? suspendedNow(account, reason, Number(since), Number(probeAt)) : undefined };
              },
              async throttled(retryAfterMs) {
                const [, rate, pauseMs] = await settle("neutral", true, retryAfterMs);
                logger?.info?.(`Account ${account}: 429, paused ${Math.round(Number(pauseMs))} ms for every worker, rate now ${Math.round(Number(rate) * 10) / 10}/min`);
              },
            },
          } satisfies Admission;
        }
        if (kind === "held") return { kind: "held", ...suspendedNow(account, String(answer[2]), Number(answer[3]), waitMs) };
        if (kind === "trial") {
          if (probationWaited + waitMs > PROBATION_PATIENCE_MS) return { kind: "later", untilMs: Date.now() + waitMs, reason: "its account's first write is in flight" };
          probationWaited += waitMs;
          await sleep(waitMs);
          continue;
        }
        if (kind === "later") return { kind: "later", untilMs: Date.now() + waitMs, reason: "its account is not due" };
        if (kind === "reserved") {
          await sleep(waitMs);
          pacedOnly = true;
          continue;
        }
        // The guard: wait in the worker a little, then hand the job back.
        const [, , failures, pending, run] = answer;
        warn(Number(failures), Number(pending), Number(run), waitMs);
        if (guardWaited + waitMs > GUARD_PATIENCE_MS) return { kind: "later", untilMs: Date.now() + Math.max(waitMs, GUARD_POLL_MS), reason: "the failure guard holds sends" };
        guardWaited += waitMs;
        await sleep(waitMs);
      }
    },
    async suspend(account, reason) {
      const [why, since, probeAt] = (await commands.mceSuspend(...healthKeys(account), SCRIPT_RULES_ARG, account, reason, probeBackoffMs, maxProbeBackoffMs)) as [string, string, string];
      return suspendedNow(account, why, Number(since), Number(probeAt));
    },
    // A transient failure's retry is BullMQ's: the job goes back to Redis with its back-off.
    retryAfter: async () => "later",
  };
}

/** Marks this worker alive for the guard; returns the function that stops it. */
export function heartbeat(redis: Redis, scope: string, worker: string): () => Promise<void> {
  const key = `mce:guard:${scope}:w`;
  const commands = scripted(redis);
  const beat = () => commands.mceHeartbeat(key, worker).catch(() => {});
  void beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    // Gone for good: its requests in flight have all been settled by now.
    await redis.zrem(key, worker).catch(() => {});
  };
}

