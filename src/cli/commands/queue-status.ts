/**
 * `status --redis URL`: BullMQ's counts of the queue, the linked accounts suspended over the fleet (why,
 * since when, the next probe, the jobs held), and the failed jobs with their reasons.
 */
import type { EngagementQueue, FailedJob } from "../../queue/index.js";
import { redisForDisplay, type QueueStatusCommand } from "../args.js";
import { NAME, OK, ROWS_NOT_WRITTEN } from "../exit.js";
import { grouped } from "../progress.js";
import { closeQueue, exitSoon, loadQueueLibrary, queueError, TimedOut, withTimeout } from "../queue-loader.js";

/** How long `status` waits for Redis before it says Redis is unreachable. */
const STATUS_TIMEOUT_MS = 10_000;

/** `status --redis URL`: BullMQ's counts and the failed jobs with their reasons. */
export async function runQueueStatus(command: QueueStatusCommand): Promise<number> {
  const library = await loadQueueLibrary();
  if (typeof library === "number") return library;
  let queue: EngagementQueue | undefined;
  try {
    queue = library.createEngagementQueue({ connection: command.redis, ...(command.queue === undefined ? {} : { name: command.queue }) });
    const open = queue;
    const [counts, failed, suspended] = await withTimeout(Promise.all([open.counts(), open.failedJobs(), open.suspendedAccounts()]), STATUS_TIMEOUT_MS);
    if (command.json) {
      process.stdout.write(`${JSON.stringify({ queue: open.name, counts, suspended, failed })}\n`);
      return OK;
    }
    const lines = [`Queue ${open.name} at ${redisForDisplay(command.redis)}`];
    for (const name of ["waiting", "delayed", "active", "completed", "failed"] as const) lines.push(`  ${name.padEnd(12)}${grouped(counts[name])}`);
    if (suspended.length > 0) {
      lines.push("", "Suspended linked accounts (account, reason, since, next probe, jobs held):");
      for (const s of suspended) lines.push(`  ${s.account}\t${s.reason}\tsince ${s.since}\tnext probe ${s.nextProbeAt}\t${grouped(s.jobsHeld)} held`);
      lines.push("Their jobs wait in Redis (delayed, not failed); a worker resumes an account as soon as a probe succeeds.");
    }
    if (failed.length > 0) {
      const shown = failed.length < counts.failed ? ` (the newest ${grouped(failed.length)} of ${grouped(counts.failed)})` : "";
      lines.push("", `Failed jobs${shown} (line, key, reason):`);
      for (const job of failed) lines.push(`  ${job.line === undefined ? "-" : String(job.line)}\t${job.key}\t${failedReason(job)}`);
    }
    process.stdout.write(`${lines.join("\n")}\n`);
    return OK;
  } catch (error) {
    if (error instanceof TimedOut) {
      process.stderr.write(`${NAME}: Redis at ${redisForDisplay(command.redis)} is unreachable: no answer in ${STATUS_TIMEOUT_MS / 1000} s.\n`);
      return ROWS_NOT_WRITTEN;
    }
    return queueError(error, library, command);
  } finally {
    await closeQueue(queue);
    exitSoon();
  }
}

function failedReason(job: FailedJob): string {
  const reason = job.problems && job.problems.length > 0 ? job.problems.map((p) => `${p.pointer || "(row)"} ${p.message}`).join("; ") : job.reason;
  return job.attemptsMade > 1 ? `${reason} (after ${job.attemptsMade} attempts)` : reason;
}

/** The queue library, or the exit code of a usage error when bullmq or ioredis is not installed. */
