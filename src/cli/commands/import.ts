/**
 * `import FILE`: the file's rows streamed into `bulkCreate`, with the journal that makes a rerun send
 * only what is not done, the rejects file, the progress and the summary. Pacing, retries, validation and
 * the journal live in the library.
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { bulkCreate, openJournal, type BulkRow, type BulkRowResult, type BulkSummary } from "../../bulk/index.js";
import { isMergeValidationError } from "../../index.js";
import { resumeCommand, UsageError, type ImportCommand } from "../args.js";
import { INTERRUPTED, NAME, OK, ROWS_NOT_WRITTEN } from "../exit.js";
import { InputError, inputOptionsOf, openInputFile, type InputItem, type InvalidInput } from "../input.js";
import { duration, grouped, rowCount, startProgress } from "../progress.js";
import { runCommand } from "../runner.js";
import { messageOf } from "../../internal/errors.js";

/** Runs `import`; resolves to its exit code. */
export function runImport(command: ImportCommand, argv: readonly string[]): Promise<number> {
  return runCommand({
    json: command.json,
    signals: {
      stopping: () => "Stopping: no new rows; waiting for the rows in flight to finish (Ctrl-C again to quit at once).",
      // The journal is written row by row, so it stays consistent.
      stoppedAtOnce: "resume with the same command.",
    },
    async run(run) {
      const { input, first, total } = await openInputFile(command.file, inputOptionsOf(command));
      run.defer(() => input.return());

      let accountToken = command.accountToken;
      const logger = run.logger();
      const { merge, mock } = await run.openClientTarget(command.target, logger);
      if (mock) {
        process.stderr.write(`No MERGE_API_KEY: importing into the embedded Prism mock at ${mock.url} (nothing reaches Merge).\n`);
        accountToken ??= "mock-account-token";
      }
      let rejects: FileHandle | undefined;
      if (command.rejects !== undefined) {
        try {
          rejects = await open(command.rejects, "w");
        } catch (error) {
          throw new UsageError(`--rejects: cannot write '${command.rejects}' (${messageOf(error)})`);
        }
        const opened = rejects;
        run.defer(() => opened.close());
      }

      // A dry run sends nothing and journals nothing.
      let journal;
      if (!command.dryRun) {
        try {
          journal = await openJournal(command.journal);
        } catch (error) {
          // The library's message says why: in use by another run (its pid), not a journal, unreadable.
          throw new UsageError(`--journal: ${messageOf(error)}`);
        }
        const opened = journal;
        // close() syncs, closes and unlocks before its first await: done even at the second Ctrl-C.
        run.defer(() => opened.close(), { atOnce: true });
      }

      process.stderr.write(
        command.dryRun ? `Validating ${rowCount(total)} of ${command.file} (dry run: nothing is sent).\n` : `Importing ${rowCount(total)} of ${command.file} (journal ${command.journal}).\n`,
      );
      const progress = run.showProgress(startProgress({ total, tty: process.stderr.isTTY === true, label: NAME, dryRun: command.dryRun }));

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
      const openJournalNow = journal;
      const rows = bulkRows(first, input, (invalid) => {
        // A line that is no row never reaches bulkCreate: it is recorded here, so status shows it too.
        invalidRows += 1;
        progress.add("rejected");
        const key = invalid.key ?? `line:${invalid.line}`;
        openJournalNow?.record({ key, line: invalid.line, account: "-", outcome: "rejected", problems: invalid.problems, attempts: 0 });
        writeReject({ key, line: invalid.line, problems: invalid.problems });
      });
      const onResult = (result: BulkRowResult) => {
        progress.add(result.outcome);
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
          ...(command.missingContacts === undefined ? {} : { missingContacts: command.missingContacts }),
          dryRun: command.dryRun,
          signal: run.stopping,
          onResult,
          logger,
        });
      } catch (error) {
        // bulkCreate rejects for bad options (a MergeValidationError naming the option) or a file that
        // cannot be read past some line: both are the command's to fix.
        if (isMergeValidationError(error)) throw new UsageError(error.message);
        if (error instanceof InputError) {
          const sent = command.dryRun ? "" : `\nRows read before that point are in the journal (${NAME} status --journal ${command.journal}); fix the file and run the same command again.`;
          throw new UsageError(`${error.message}${sent}`);
        }
        throw error;
      }
      progress.stop();
      await rejectsWritten;
      await journal?.close();

      const rejected = summary.rejected + invalidRows;
      const stoppedByUs = run.stoppedBy !== undefined && summary.stopped !== undefined;
      const exitCode = stoppedByUs ? INTERRUPTED : rejected + rejectedBefore > 0 || summary.failed > 0 || summary.held > 0 || summary.stopped !== undefined ? ROWS_NOT_WRITTEN : OK;
      const resume = (summary.stopped !== undefined || summary.held > 0) && !command.dryRun ? resumeCommand(argv, command.journal) : undefined;
      const lines = summaryLines(command, { ...summary, rows: summary.rows + invalidRows, rejected }, { total, rejectedBefore, interrupted: stoppedByUs, resume });
      const json = {
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
      return { exitCode, summary: lines, json };
    },
  });
}

/** The file's rows for bulkCreate; lines that are no row at all go to `onInvalid` instead. */
async function* bulkRows(first: IteratorResult<InputItem, void>, rest: AsyncIterator<InputItem, void>, onInvalid: (invalid: InvalidInput) => void): AsyncGenerator<BulkRow, void, undefined> {
  for (let next = first; !next.done; next = await rest.next()) {
    const item = next.value;
    if ("invalid" in item) onInvalid(item.invalid);
    else yield item.row;
  }
}

function summaryLines(
  command: ImportCommand,
  summary: BulkSummary,
  { total, rejectedBefore, interrupted, resume }: { total: number; rejectedBefore: number; interrupted: boolean; resume: string | undefined },
): string[] {
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
  return lines;
}
