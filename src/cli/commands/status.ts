/**
 * `status`: what an import's journal holds (`--journal PATH`: rows by outcome, and the failed, held and
 * rejected ones with their reasons), or a queue's state (`--redis URL`: BullMQ's counts, the linked
 * accounts suspended over the fleet, and the failed jobs with their reasons).
 */
import { readJournal, type BulkRowResult } from "../../bulk/index.js";
import type { FailedJob } from "../../queue/index.js";
import { redisForDisplay, UsageError, type QueueStatusCommand, type StatusCommand } from "../args.js";
import { OK } from "../exit.js";
import { grouped, rowCount } from "../progress.js";
import { closeQueue, exitSoon, loadQueueLibrary, queueFailure, redisUnreachable, TimedOut, withTimeout } from "../queue-loader.js";
import { problemsText, rowErrorText } from "../row-reasons.js";
import { runCommand } from "../runner.js";
import { messageOf } from "../../internal/errors.js";

/** How long `status --redis` waits for Redis before it says Redis is unreachable. */
const STATUS_TIMEOUT_MS = 10_000;

/** `status --journal PATH`: the journal's rows by outcome, and the rows not written with their reasons. */
export function runJournalStatus(command: StatusCommand): Promise<number> {
  return runCommand({
    json: command.json,
    async run() {
      let journal;
      try {
        journal = await readJournal(command.journal);
      } catch (error) {
        throw new UsageError(`--journal: cannot read '${command.journal}' (${messageOf(error)})`);
      }
      const { counts, results } = journal;
      const problemRows = results.filter((result) => result.outcome === "failed" || result.outcome === "rejected" || result.outcome === "held");
      const rowsOf = (outcome: BulkRowResult["outcome"]) => problemRows.filter((result) => result.outcome === outcome).map(rowNotWritten);
      const json = { journal: command.journal, counts, failed: rowsOf("failed"), held: rowsOf("held"), rejected: rowsOf("rejected") };

      const lines = [`Journal ${command.journal}: ${rowCount(results.length)}`];
      for (const [label, n] of [["created", counts.created], ["done before", counts["done-before"]], ["rejected", counts.rejected], ["held", counts.held], ["failed", counts.failed]] as const) {
        if (label === "held" && n === 0) continue;
        lines.push(`  ${label.padEnd(12)}${grouped(n)}`);
      }
      for (const [outcome, title] of [["failed", "Failed"], ["held", "Held"], ["rejected", "Rejected"]] as const) {
        const rows = json[outcome];
        if (rows.length === 0) continue;
        lines.push("", `${title} rows (line, key, reason):`);
        for (const { line, key, reason } of rows) lines.push(`  ${line === null ? "-" : String(line)}\t${key}\t${reason}`);
      }
      return { exitCode: OK, report: lines, json };
    },
  });
}

/** A failed, held or rejected row for `status`: where it is and why. */
function rowNotWritten(result: BulkRowResult): { line: number | null; key: string; account: string; reason: string } {
  let reason = "";
  if (result.problems && result.problems.length > 0) reason = problemsText(result.problems);
  else if (result.error) reason = rowErrorText(result.error);
  if (result.outcome === "held" && result.reason !== undefined) reason = `account ${result.account} suspended (${result.reason}); ${reason}`;
  return { line: result.line ?? null, key: result.key, account: result.account, reason };
}

/** `status --redis URL`: BullMQ's counts, the suspended accounts and the failed jobs with their reasons. */
export function runQueueStatus(command: QueueStatusCommand): Promise<number> {
  return runCommand({
    json: command.json,
    async run(run) {
      const library = await loadQueueLibrary();
      run.defer(() => exitSoon());
      let queue;
      try {
        queue = library.createEngagementQueue({ connection: command.redis, ...(command.queue === undefined ? {} : { name: command.queue }) });
      } catch (error) {
        throw queueFailure(error, library, command);
      }
      const open = queue;
      run.defer(() => closeQueue(open));
      let counts, failed, suspended;
      try {
        [counts, failed, suspended] = await withTimeout(Promise.all([open.counts(), open.failedJobs(), open.suspendedAccounts()]), STATUS_TIMEOUT_MS);
      } catch (error) {
        if (error instanceof TimedOut) throw redisUnreachable(command, `no answer in ${STATUS_TIMEOUT_MS / 1000} s.`);
        throw queueFailure(error, library, command);
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
      return { exitCode: OK, report: lines, json: { queue: open.name, counts, suspended, failed } };
    },
  });
}

function failedReason(job: FailedJob): string {
  const reason = job.problems && job.problems.length > 0 ? problemsText(job.problems) : job.reason;
  return job.attemptsMade > 1 ? `${reason} (after ${job.attemptsMade} attempts)` : reason;
}
