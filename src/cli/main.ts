#!/usr/bin/env node
/**
 * The `merge-crm-engagements` command: a thin shell over `bulkCreate`. It reads flags and the
 * environment, builds a client, streams the file's rows into `bulkCreate`, shows progress and prints
 * the summary. Pacing, retries, validation and the journal live in the library. The queue's commands
 * (enqueue.ts, worker.ts, queue-status.ts) load BullMQ only when one of them runs.
 */
import { access, constants, open, type FileHandle } from "node:fs/promises";
import { bulkCreate, openJournal, readJournal, type BulkJournal, type BulkRow, type BulkRowResult, type BulkSummary } from "../bulk/index.js";
import { isMergeValidationError, type Logger } from "../index.js";
import type { MockServer } from "../mock/index.js";
import { parseCommand, resumeCommand, USAGE, UsageError, type ImportCommand, type StatusCommand } from "./args.js";
import { INTERRUPTED, NAME, OK, ROWS_NOT_WRITTEN, usageError } from "./exit.js";
import { countRows, InputError, openInput, type InputItem, type InvalidInput } from "./input.js";
import { runEnqueue } from "./commands/enqueue.js";
import { runExport } from "./commands/export.js";
import { duration, grouped, rowCount, startProgress, type Progress } from "./progress.js";
import { runQueueStatus } from "./commands/queue-status.js";
import { connect, debug, type Connection } from "./client-target.js";
import { runWorker } from "./commands/worker.js";
import { messageOf } from "../internal/errors.js";

async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseCommand(argv, process.env);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    throw error;
  }
  if (command.command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return OK;
  }
  switch (command.command) {
    case "import":
      return runImport(command, argv);
    case "status":
      return status(command);
    case "export":
      return runExport(command, argv);
    case "enqueue":
      return runEnqueue(command);
    case "worker":
      return runWorker(command);
    case "queue-status":
      return runQueueStatus(command);
  }
}

async function runImport(command: ImportCommand, argv: readonly string[]): Promise<number> {
  try {
    await access(command.file, constants.R_OK);
  } catch {
    return usageError(`FILE: cannot read '${command.file}'`);
  }
  let opened: Awaited<ReturnType<typeof openInput>>;
  try {
    // The header of a CSV file is checked before anything is sent.
    opened = await openInput(command.file, command.keyField === undefined ? { format: command.format } : { format: command.format, keyField: command.keyField });
  } catch (error) {
    if (error instanceof InputError) return usageError(error.message);
    throw error;
  }
  const { input, first } = opened;
  const total = await countRows(command.file, command.format);

  let mock: MockServer | undefined;
  let rejects: FileHandle | undefined;
  let journal: BulkJournal | undefined;
  const controller = new AbortController();
  let interrupted = false;
  let progress: Progress | undefined;
  const onSignal = () => {
    if (interrupted) {
      // The second Ctrl-C: out at once. The journal is written row by row, so it stays consistent.
      // close() syncs, closes and unlocks before its first await: done before the exit.
      void journal?.close();
      process.stderr.write(`\n${NAME}: stopped at once; resume with the same command.\n`);
      process.exit(INTERRUPTED);
    }
    interrupted = true;
    const message = `Stopping: no new rows; waiting for the rows in flight to finish (Ctrl-C again to quit at once).`;
    if (progress) progress.note(message);
    else process.stderr.write(`${message}\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    let merge: Connection["merge"];
    let accountToken = command.accountToken;
    const logger: Logger = {
      warn: (message) => note(`warning: ${message}`),
      error: (message) => note(`error: ${message}`),
      // NODE_DEBUG=merge-crm-engagements: the transport, and every request and response line of the client.
      ...(debug.enabled ? { debug: (message: string) => debug("%s", message) } : {}),
    };
    const note = (message: string) => (progress ? progress.note(message) : process.stderr.write(`${message}\n`));
    try {
      ({ merge, mock } = await connect(command.target, logger));
    } catch (error) {
      if (error instanceof UsageError) return usageError(error.message);
      throw error;
    }
    if (mock) {
      process.stderr.write(`No MERGE_API_KEY: importing into the embedded Prism mock at ${mock.url} (nothing reaches Merge).\n`);
      accountToken ??= "mock-account-token";
    }
    if (command.rejects !== undefined) {
      try {
        rejects = await open(command.rejects, "w");
      } catch (error) {
        return usageError(`--rejects: cannot write '${command.rejects}' (${messageOf(error)})`);
      }
    }

    // A dry run sends nothing and journals nothing.
    if (!command.dryRun) {
      try {
        journal = await openJournal(command.journal);
      } catch (error) {
        // The library's message says why: in use by another run (its pid), not a journal, unreadable.
        return usageError(`--journal: ${messageOf(error)}`);
      }
    }

    process.stderr.write(
      command.dryRun ? `Validating ${rowCount(total)} of ${command.file} (dry run: nothing is sent).\n` : `Importing ${rowCount(total)} of ${command.file} (journal ${command.journal}).\n`,
    );
    progress = startProgress({ total, tty: process.stderr.isTTY === true, label: NAME, dryRun: command.dryRun });

    // Rejects are written in order through one chain of appends.
    let rejectsWritten: Promise<unknown> = Promise.resolve();
    const writeReject = (entry: { key?: string | undefined; line?: number | undefined; problems: unknown }) => {
      if (!rejects) return;
      const file = rejects;
      const text = `${JSON.stringify({ key: entry.key, line: entry.line, problems: entry.problems })}\n`;
      rejectsWritten = rejectsWritten.then(() => file.write(text));
    };
    let invalidRows = 0;
    let rejectedBefore = 0;
    const shown = progress;
    const openJournalNow = journal;
    const rows = bulkRows(first, input, (invalid) => {
      // A line that is no row never reaches bulkCreate: it is recorded here, so status shows it too.
      invalidRows += 1;
      shown.add("rejected");
      const key = invalid.key ?? `line:${invalid.line}`;
      openJournalNow?.record({ key, line: invalid.line, account: "-", outcome: "rejected", problems: invalid.problems, attempts: 0 });
      writeReject({ key, line: invalid.line, problems: invalid.problems });
    });
    const onResult = (result: BulkRowResult) => {
      shown.add(result.outcome);
      // Rows rejected in an earlier run come back as done-before: they are still rejects of this file.
      if (result.outcome === "done-before" && result.before === "rejected") rejectedBefore += 1;
      if (result.outcome === "rejected" || (result.outcome === "done-before" && result.before === "rejected")) {
        writeReject({ key: result.key, line: result.line, problems: result.problems ?? (result.error ? [{ pointer: "", message: `${result.error.name}: ${result.error.message}` }] : []) });
      }
    };

    let summary: BulkSummary;
    try {
      summary = await bulkCreate(merge, rows, {
        ...(journal === undefined ? {} : { journal }),
        ...(accountToken === undefined ? {} : { accountToken }),
        ...(command.rate === undefined ? {} : { ratePerMinute: command.rate }),
        ...(command.concurrency === undefined ? {} : { concurrency: command.concurrency }),
        ...(command.perAccountConcurrency === undefined ? {} : { perAccountConcurrency: command.perAccountConcurrency }),
        ...(command.failureGuard === undefined ? {} : { failureGuard: command.failureGuard }),
        dryRun: command.dryRun,
        signal: controller.signal,
        onResult,
        logger,
      });
    } catch (error) {
      progress.stop();
      // bulkCreate rejects for bad options (a MergeValidationError naming the option) or a file that
      // cannot be read past some line: both are the command's to fix.
      if (isMergeValidationError(error)) return usageError(error.message);
      if (error instanceof InputError) {
        const sent = command.dryRun ? "" : `\nRows read before that point are in the journal (${NAME} status --journal ${command.journal}); fix the file and run the same command again.`;
        return usageError(`${error.message}${sent}`);
      }
      throw error;
    }
    progress.stop();
    await rejectsWritten;
    await journal?.close();
    journal = undefined;

    const rejected = summary.rejected + invalidRows;
    const stoppedByUs = interrupted && summary.stopped !== undefined;
    const exitCode = stoppedByUs ? INTERRUPTED : rejected + rejectedBefore > 0 || summary.failed > 0 || summary.held > 0 || summary.stopped !== undefined ? ROWS_NOT_WRITTEN : OK;
    const resume = (summary.stopped !== undefined || summary.held > 0) && !command.dryRun ? resumeCommand(argv, command.journal) : undefined;
    printSummary(command, { ...summary, rows: summary.rows + invalidRows, rejected }, { total, rejectedBefore, interrupted: stoppedByUs, resume });
    if (command.json) {
      const out = {
        command: "import",
        file: command.file,
        dryRun: command.dryRun,
        ...summary,
        rows: summary.rows + invalidRows,
        rejected,
        rejectedBefore,
        journal: command.dryRun ? null : command.journal,
        rejects: command.rejects ?? null,
        exitCode,
        resume: resume ?? null,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    }
    return exitCode;
  } finally {
    progress?.stop();
    await input.return();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await journal?.close();
    await rejects?.close();
    await mock?.close();
  }
}

/** The file's rows for bulkCreate; lines that are no row at all go to `onInvalid` instead. */
async function* bulkRows(first: IteratorResult<InputItem, void>, rest: AsyncIterator<InputItem, void>, onInvalid: (invalid: InvalidInput) => void): AsyncGenerator<BulkRow, void, undefined> {
  for (let next = first; !next.done; next = await rest.next()) {
    const item = next.value;
    if ("invalid" in item) onInvalid(item.invalid);
    else yield item.row;
  }
}

function printSummary(
  command: ImportCommand,
  summary: BulkSummary,
  { total, rejectedBefore, interrupted, resume }: { total: number; rejectedBefore: number; interrupted: boolean; resume: string | undefined },
): void {
  const lines: string[] = [];
  const head = command.dryRun ? "Dry run of" : "Import of";
  if (summary.stopped === undefined) lines.push(`${head} ${command.file} done: ${rowCount(summary.rows)} in ${duration(summary.durationMs)}`);
  else {
    const why = interrupted ? "by Ctrl-C" : `(${summary.stopped})`;
    lines.push(`${head} ${command.file} stopped ${why}: ${grouped(summary.rows)} of about ${grouped(Math.max(total, summary.rows))} rows in ${duration(summary.durationMs)}`);
  }
  const width = Math.max(...[summary.created, summary.doneBefore, summary.rejected, summary.held, summary.failed, summary.valid].map((n) => grouped(n).length));
  const row = (label: string, n: number, extra = "") => lines.push(`  ${label.padEnd(12)}${grouped(n).padStart(width)}${extra}`);
  const seeRejects = summary.rejected > 0 && command.rejects !== undefined ? `   (see ${command.rejects})` : "";
  if (command.dryRun) {
    row("valid", summary.valid);
    row("rejected", summary.rejected, seeRejects);
  } else {
    row("created", summary.created);
    row("done before", summary.doneBefore, rejectedBefore > 0 ? `   (${grouped(rejectedBefore)} of them rejected in an earlier run)` : "");
    row("rejected", summary.rejected, seeRejects);
    if (summary.held > 0 || summary.suspended.length > 0) row("held", summary.held, "   (their linked accounts were suspended: see below)");
    row("failed", summary.failed);
    lines.push(`Journal: ${command.journal}   (${NAME} status --journal ${command.journal})`);
  }
  if (summary.suspended.length > 0) {
    lines.push("", "Suspended linked accounts (account, reason, since, rows held):");
    for (const s of summary.suspended) {
      lines.push(`  ${s.account}  ${s.reason}  since ${s.since}  ${grouped(s.rowsHeld)} held${s.suspended ? "" : "  (resumed: a probe succeeded)"}`);
    }
    lines.push(
      "Held rows were not written. Fix each account in Merge (relink it, restore the integration user's permissions, fill the field its CRM",
      "now requires), then rerun the same command: it sends exactly the held rows, with the same Idempotency-Keys.",
    );
  }
  if (resume !== undefined) {
    lines.push(summary.stopped === undefined ? "Rerun with:" : "Resume with:", `  ${resume}`);
    if (command.accountTokenFromFlag) lines.push("  (with MERGE_ACCOUNT_TOKEN set to the token you gave --account-token)");
  }
  process.stderr.write(`${lines.join("\n")}\n`);
}

async function status(command: StatusCommand): Promise<number> {
  let journal;
  try {
    journal = await readJournal(command.journal);
  } catch (error) {
    return usageError(`--journal: cannot read '${command.journal}' (${messageOf(error)})`);
  }
  const { counts, results } = journal;
  const problemRows = results.filter((result) => result.outcome === "failed" || result.outcome === "rejected" || result.outcome === "held");
  if (command.json) {
    const of = (outcome: BulkRowResult["outcome"]) => problemRows.filter((r) => r.outcome === outcome).map(describe);
    process.stdout.write(`${JSON.stringify({ journal: command.journal, counts, failed: of("failed"), held: of("held"), rejected: of("rejected") })}\n`);
    return OK;
  }
  const lines = [`Journal ${command.journal}: ${rowCount(results.length)}`];
  for (const [label, n] of [["created", counts.created], ["done before", counts["done-before"]], ["rejected", counts.rejected], ["held", counts.held], ["failed", counts.failed]] as const) {
    if (label === "held" && n === 0) continue;
    lines.push(`  ${label.padEnd(12)}${grouped(n)}`);
  }
  for (const outcome of ["failed", "held", "rejected"] as const) {
    const rows = problemRows.filter((result) => result.outcome === outcome);
    if (rows.length === 0) continue;
    lines.push("", `${outcome === "failed" ? "Failed" : outcome === "held" ? "Held" : "Rejected"} rows (line, key, reason):`);
    for (const result of rows) {
      const { line, key, reason } = describe(result);
      lines.push(`  ${line === null ? "-" : String(line)}\t${key}\t${reason}`);
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return OK;
}

/** A failed or rejected row for `status`: where it is and why. */
function describe(result: BulkRowResult): { line: number | null; key: string; account: string; reason: string } {
  let reason = "";
  if (result.problems && result.problems.length > 0) reason = result.problems.map((p) => `${p.pointer || "(row)"} ${p.message}`).join("; ");
  else if (result.error) reason = `${result.error.name}: ${result.error.message}${result.error.writeMayHaveHappened ? " (the write may have happened)" : ""}`;
  if (result.outcome === "held" && result.reason !== undefined) reason = `account ${result.account} suspended (${result.reason}); ${reason}`;
  return { line: result.line ?? null, key: result.key, account: result.account, reason };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${NAME}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exitCode = ROWS_NOT_WRITTEN;
  },
);
