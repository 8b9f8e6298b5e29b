/**
 * `export --account-token TOKEN --out FILE`: a linked account's engagement changes, read by
 * `engagementChanges` (merge-crm-engagements/sync) one page at a time and appended to --out as NDJSON,
 * one line a change; the checkpoint to continue from is kept in --state (export-files.ts says in which
 * order, and why a run stopped anywhere continues with the same command).
 *
 * The account token is never printed and never written to --out or --state.
 */
import { CheckpointError, engagementChanges, type EngagementChange } from "../../sync/index.js";
import { resumeCommand, UsageError, type ExportCommand } from "../args.js";
import { FAILED, INTERRUPTED, OK } from "../exit.js";
import { appendToOut, lockExportFile, openOut, prepareOut, readState, saveState, STATE_VERSION } from "../export-files.js";
import { counted, duration, grouped, startExportProgress } from "../progress.js";
import { runCommand, signalName, withoutAccountTokens, type CommandResult } from "../runner.js";
import { isAbortError, nameAndMessage } from "../../internal/errors.js";

/** The `--json` summary: one line on stdout at the end. */
export interface ExportSummary {
  /** Pages read (one batch each). */
  pages: number;
  /** Records on those pages. */
  records: number;
  /** Lines appended, by op. */
  upserts: number;
  deletes: number;
  /** Whether the walk read its last page: --out is up to date with Merge as of this run. */
  caughtUp: boolean;
  durationMs: number;
  out: string;
  state: string;
}

/** Runs `export`; resolves to its exit code. */
export function runExport(command: ExportCommand, argv: readonly string[]): Promise<number> {
  const hideToken = (message: string) => withoutAccountTokens(message, [command.accountToken]);
  return runCommand({
    json: command.json,
    signals: {
      stopping: (signal) => `Stopping (${signalName(signal)}): writing what was read and saving --state (${signalName(signal)} again to quit at once).`,
      // --state is replaced by a rename, so it is whole; a line cut short at the end of --out is cut off by the next run.
      stoppedAtOnce: "--state is consistent with --out. Resume with the same command.",
    },
    async run(run): Promise<CommandResult> {
      // 1. The files: locked, the state read and checked against --out, a torn last line cut.
      run.defer(lockExportFile(command.out, "--out"), { atOnce: true });
      run.defer(lockExportFile(command.state, "--state"), { atOnce: true });
      const state = await readState(command.state);
      const out = await openOut(command.out);
      run.defer(() => out.close());
      let outBytes = await prepareOut(out, command, state, run.note);
      if (state !== null && command.since !== undefined) {
        run.note(`--since ${command.since.text} is ignored: ${command.state} holds a checkpoint, and the export continues from it.`);
      }

      // 2. The client.
      const { merge, mock } = await run.openClientTarget(command.target, run.logger(hideToken));
      if (mock) process.stderr.write(`No MERGE_API_KEY: exporting from the embedded Prism mock at ${mock.url} (nothing is read from Merge).\n`);
      process.stderr.write(
        state === null
          ? `Exporting ${command.since === undefined ? "every engagement" : `the engagements modified after ${command.since.date.toISOString()}`} to ${command.out} (state ${command.state}).\n`
          : `Exporting the changes after the checkpoint in ${command.state} to ${command.out}.\n`,
      );

      // 3. The walk: each page's lines on disk, then the state that covers them. The library's last batch
      // (caughtUp) means up to date with what changed before this run began, a walk resumed from --state
      // included (it reads one more walk after it), so exit 0 means that too.
      const started = performance.now();
      const summary: ExportSummary = { pages: 0, records: 0, upserts: 0, deletes: 0, caughtUp: false, durationMs: 0, out: command.out, state: command.state };
      const progress = run.showProgress(startExportProgress(process.stderr.isTTY === true, started));
      let saved = state === null ? null : { checkpoint: state.checkpoint, walkDone: state.walkDone };
      let failure: string | undefined;
      let stoppedBy: NodeJS.Signals | undefined;
      try {
        walks: for (let first = true; ; first = false) {
          if (run.stoppedBy) {
            stoppedBy = run.stoppedBy;
            break;
          }
          const batches = engagementChanges(merge, {
            checkpoint: saved?.checkpoint ?? null,
            ...(first && state === null && command.since !== undefined ? { since: command.since.date } : {}),
            accountToken: command.accountToken,
            signal: run.stopping,
          });
          for await (const batch of batches) {
            const { text, upserts, deletes } = linesOf(batch.changes);
            if (text !== "") {
              const bytes = Buffer.from(text, "utf8");
              await appendToOut(out, bytes, command.out);
              outBytes += bytes.length;
            }
            // Written only after the lines it covers are on disk: --state is never ahead of --out.
            if (saved === null || batch.checkpoint !== saved.checkpoint || batch.caughtUp !== saved.walkDone) {
              await saveState(command.state, { version: STATE_VERSION, checkpoint: batch.checkpoint, walkDone: batch.caughtUp, outBytes });
              saved = { checkpoint: batch.checkpoint, walkDone: batch.caughtUp };
            }
            summary.pages += 1;
            summary.records += batch.records;
            summary.upserts += upserts;
            summary.deletes += deletes;
            progress.page(batch.records, upserts, deletes);
            if (batch.caughtUp) {
              summary.caughtUp = true;
              break walks;
            }
            if (run.stoppedBy) {
              stoppedBy = run.stoppedBy;
              break walks;
            }
          }
          // The walk ended without its last page (never, by the library's contract).
          break;
        }
      } catch (error) {
        if (error instanceof CheckpointError) {
          throw new UsageError(`--state: ${command.state} holds a checkpoint this version cannot read (${error.message}); move it away to export everything again`);
        }
        if (run.stoppedBy && isAbortError(error)) stoppedBy = run.stoppedBy;
        else failure = hideToken(nameAndMessage(error));
      }
      progress.stop();
      summary.durationMs = Math.round(performance.now() - started);

      let exitCode: number;
      if (summary.caughtUp) exitCode = OK;
      else if (stoppedBy !== undefined) exitCode = INTERRUPTED;
      else {
        // The walk ended without its last page: a failure, or (never, by the library's contract) no last page.
        failure ??= "the walk ended before its last page";
        exitCode = FAILED;
      }
      const lines = summaryLines(command, summary, { stoppedBy, failure, resume: exitCode === OK ? undefined : resumeCommand(argv) });
      return { exitCode, summary: lines, json: summary };
    },
  });
}

/** The lines of a batch's changes, each ending in "\n", and how many of each op. */
function linesOf(changes: readonly EngagementChange[]): { text: string; upserts: number; deletes: number } {
  let text = "";
  let upserts = 0;
  let deletes = 0;
  for (const change of changes) {
    if (change.op === "upsert") {
      upserts += 1;
      const { engagement } = change;
      text += `${JSON.stringify({ op: "upsert", id: engagement.id, modified_at: engagement.modified_at ?? null, engagement })}\n`;
    } else {
      deletes += 1;
      text += `${JSON.stringify({ op: "delete", id: change.id, modified_at: change.modified_at ?? null })}\n`;
    }
  }
  return { text, upserts, deletes };
}

function summaryLines(
  command: ExportCommand,
  summary: ExportSummary,
  { stoppedBy, failure, resume }: { stoppedBy: NodeJS.Signals | undefined; failure: string | undefined; resume: string | undefined },
): string[] {
  const read = `${counted(summary.pages, "page")}, ${counted(summary.records, "record")} in ${duration(summary.durationMs)}`;
  const lines: string[] = [];
  if (summary.caughtUp) lines.push(`Export to ${command.out} caught up: ${read}`);
  else if (stoppedBy !== undefined) lines.push(`Export to ${command.out} stopped by ${signalName(stoppedBy)}: ${read}`);
  else lines.push(`Export to ${command.out} failed: ${failure ?? "unknown error"}`, `  before that: ${read}`);
  const width = Math.max(grouped(summary.upserts).length, grouped(summary.deletes).length);
  lines.push(`  ${"upserts".padEnd(10)}${grouped(summary.upserts).padStart(width)}`, `  ${"deletes".padEnd(10)}${grouped(summary.deletes).padStart(width)}`);
  lines.push(`State: ${command.state}`);
  if (summary.caughtUp) lines.push("Run the same command again to append what changed since.");
  else {
    lines.push(summary.pages > 0 ? `Every line written is covered by ${command.state}. Resume with:` : "Resume with:", `  ${resume ?? ""}`);
    lines.push("  (with MERGE_ACCOUNT_TOKEN set to the token you gave --account-token)");
  }
  return lines;
}
