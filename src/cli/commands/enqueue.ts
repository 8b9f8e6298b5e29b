/**
 * `enqueue FILE --redis URL`, as thin as `import`: the file's rows (input.ts, as import reads them)
 * streamed into `enqueueMany`, a summary, and the rejected rows by line and pointer.
 */
import type { ValidationIssue } from "../../index.js";
import type { QueueRow } from "../../queue/index.js";
import { redisForDisplay, UsageError, type EnqueueCommand } from "../args.js";
import { INTERRUPTED, NAME, OK, ROWS_NOT_WRITTEN } from "../exit.js";
import { InputError, inputOptionsOf, openInputFile, readInput } from "../input.js";
import { grouped, rowCount } from "../progress.js";
import { closeQueue, exitSoon, loadQueueLibrary, queueFailure } from "../queue-loader.js";
import { problemText } from "../row-reasons.js";
import { runCommand } from "../runner.js";

/** Milliseconds between the lines that say how far the file has been read. */
const PROGRESS_MS = 5000;

/** A row refused before it entered the queue: not a row at all (input.ts), or refused by `enqueueMany`. */
interface RejectedRow {
  line?: number | undefined;
  key?: string | undefined;
  problems: ValidationIssue[];
}

/** `enqueue FILE --redis URL`: exit 0 every row queued or delivered before, 1 some rejected (or no Redis), 2 usage. */
export function runEnqueue(command: EnqueueCommand): Promise<number> {
  return runCommand({
    json: command.json,
    signals: {
      stopping: () => "Stopping: no new rows; waiting for the rows being enqueued (Ctrl-C again to quit at once).",
      stoppedAtOnce: "run the same command again to enqueue the rest (rows already queued are not added twice).",
    },
    async run(run) {
      run.defer(() => exitSoon());
      const inputOptions = inputOptionsOf(command);
      // The header of a CSV file is checked before anything is enqueued.
      const { input, first, total } = await openInputFile(command.file, inputOptions);
      run.defer(() => input.return());
      // Tokens are stored encrypted or not at all: without the secret, a row carrying one stops the command
      // before anything is enqueued (the file is read to its first such row).
      if (command.secret === undefined) {
        for await (const item of readInput(command.file, inputOptions)) {
          if ("row" in item && item.row.accountToken !== undefined) {
            throw new UsageError(`MERGE_QUEUE_SECRET is not set: line ${item.row.line} of ${command.file} carries an account_token, which is stored in Redis encrypted with it (set the same secret for the workers)`);
          }
        }
      }

      let read = 0;
      const timer = setInterval(() => process.stderr.write(`${NAME}: ${grouped(read)}/${grouped(Math.max(total, read))} rows read\n`), PROGRESS_MS);
      timer.unref();
      run.defer(() => clearInterval(timer));
      const library = await loadQueueLibrary();
      let queue;
      try {
        queue = library.createEngagementQueue({ connection: command.redis, ...(command.queue === undefined ? {} : { name: command.queue }), ...(command.secret === undefined ? {} : { secret: command.secret }),
          ...(command.missingContacts === undefined ? {} : { missingContacts: command.missingContacts }),
        });
      } catch (error) {
        throw queueFailure(error, library, command);
      }
      const open = queue;
      run.defer(() => closeQueue(open));
      process.stderr.write(`Enqueueing ${rowCount(total)} of ${command.file} into queue ${queue.name} at ${redisForDisplay(command.redis)}.\n`);

      const invalid: RejectedRow[] = [];
      async function* rows(): AsyncGenerator<QueueRow, void, undefined> {
        for (let next = first; !next.done && !run.stopping.aborted; next = await input.next()) {
          read += 1;
          const item = next.value;
          if ("invalid" in item) {
            invalid.push(item.invalid);
            continue;
          }
          const { model, line, key } = item.row;
          const accountToken = item.row.accountToken ?? command.accountToken;
          if (accountToken === undefined) {
            // The library would queue it for the worker client's own token, which the CLI's worker has none of.
            invalid.push({ line, key, problems: [{ pointer: "/account_token", message: "is missing: give the row an account_token, or pass --account-token or set MERGE_ACCOUNT_TOKEN" }] });
            continue;
          }
          yield { model, line, accountToken, ...(key === undefined ? {} : { key }) };
        }
      }
      let results;
      try {
        results = await queue.enqueueMany(rows());
      } catch (error) {
        if (error instanceof InputError) {
          throw new UsageError(`${error.message}\nRows before that point may be in the queue; fix the file and run the same command again (nothing is added twice).`);
        }
        throw queueFailure(error, library, command);
      }

      let queued = 0;
      let deliveredBefore = 0;
      const rejected: RejectedRow[] = [...invalid];
      for (const result of results) {
        if (result.status === "queued") queued += 1;
        else if (result.status === "delivered-before") deliveredBefore += 1;
        else if (result.status === "rejected") rejected.push(result);
      }
      rejected.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
      const rowsRead = results.length + invalid.length;
      const interrupted = run.stoppedBy !== undefined;
      const exitCode = interrupted ? INTERRUPTED : rejected.length > 0 ? ROWS_NOT_WRITTEN : OK;

      const lines: string[] = [];
      if (rejected.length > 0) {
        lines.push("Rejected rows (not enqueued):");
        for (const row of rejected) for (const problem of row.problems) lines.push(`  ${rejectedRowLabel(row)}: ${problemText(problem)}`);
      }
      lines.push(
        interrupted
          ? `Enqueue of ${command.file} stopped by Ctrl-C: ${grouped(rowsRead)} of about ${grouped(Math.max(total, rowsRead))} rows; run the same command again for the rest`
          : `Enqueue of ${command.file} done: ${rowCount(rowsRead)} (queue ${queue.name})`,
      );
      const width = Math.max(...[queued, deliveredBefore, rejected.length].map((n) => grouped(n).length));
      for (const [label, n] of [["queued", queued], ["delivered before", deliveredBefore], ["rejected", rejected.length]] as const) {
        lines.push(`  ${label.padEnd(18)}${grouped(n).padStart(width)}`);
      }
      if (queued > 0) lines.push(`Workers deliver them: ${NAME} worker --redis ${redisForDisplay(command.redis)}${command.queue === undefined ? "" : ` --queue ${command.queue}`}`);
      const json = {
        command: "enqueue",
        file: command.file,
        queue: queue.name,
        redis: redisForDisplay(command.redis),
        rows: rowsRead,
        queued,
        deliveredBefore,
        rejected: rejected.length,
        rejectedRows: rejected.map((row) => ({ line: row.line ?? null, key: row.key ?? null, problems: row.problems })),
        interrupted,
        exitCode,
      };
      return { exitCode, summary: lines, json };
    },
  });
}

/** "line 4, key r4", "line 3", "key r4". */
function rejectedRowLabel(row: RejectedRow): string {
  const parts = [row.line === undefined ? undefined : `line ${row.line}`, row.key === undefined ? undefined : `key ${row.key}`].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(", ") : "a row";
}
