/**
 * `export --account-token TOKEN --out FILE` (issue 20): a linked account's engagement changes, read by
 * `engagementChanges` (merge-crm-engagements/sync) one page at a time and appended to --out as NDJSON,
 * one line a change; the checkpoint to continue from is kept in --state.
 *
 * The order of the writes, for each page read: its lines are appended to --out and --out is fsynced;
 * then --state is replaced (a temporary file beside it, fsynced, renamed over it, the folder fsynced)
 * with the checkpoint and the length of --out it covers. So --state is never ahead of --out, and a run
 * stopped anywhere (Ctrl-C, a crash, kill -9, a power cut) continues from --state with the same command:
 * complete lines after the length it covers stay, and their changes come again (an upsert or a delete
 * applied twice is harmless). The one rewrite of --out is at the start: a last line without its "\n"
 * (a write cut short) is cut off.
 *
 * The account token is never printed and never written to --out or --state.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { Logger } from "../../index.js";
import { CheckpointError, engagementChanges, type EngagementChange } from "../../sync/index.js";
import { shellQuote, UsageError, type ExportCommand } from "../args.js";
import { FAILED, INTERRUPTED, NAME, OK, usageError } from "../exit.js";
import { duration, grouped } from "../progress.js";
import { connect, debug, type Connection } from "../client-target.js";
import { messageOf } from "../../internal/errors.js";

/** The layout of --state this version writes and reads. */
export const STATE_VERSION = 1;
/** Milliseconds between plain progress lines (off a terminal). */
const PLAIN_PROGRESS_MS = 5000;
/** Records per second are measured over this many milliseconds. */
const RATE_WINDOW_MS = 30_000;

/** What --state holds (one JSON object). */
export interface ExportState {
  version: typeof STATE_VERSION;
  /** `engagementChanges`' checkpoint, as it gave it (opaque). */
  checkpoint: string;
  /**
   * Whether the checkpoint is the last of a walk (its batch was `caughtUp`), for whoever reads the file.
   * A run resumed from a mid-walk checkpoint needs nothing from it: `engagementChanges` itself reads one
   * more walk after a resumed one.
   */
  walkDone: boolean;
  /** The length of --out, in bytes, whose lines the checkpoint covers: --out is never shorter. */
  outBytes: number;
}

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

/** A file that could not be read or written: exit 1 (run again once the disk or permission allows). */
class FileError extends Error {
  override name = "FileError";
}

/** Runs `export`; resolves to its exit code. */
export async function runExport(command: ExportCommand, argv: readonly string[]): Promise<number> {
  const locks: (() => void)[] = [];
  let out: FileHandle | undefined;
  let mock: Connection["mock"];
  let progress: ExportProgress | undefined;
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const note = (message: string) => (progress ? progress.note(message) : process.stderr.write(`${message}\n`));
  const releaseLocks = () => {
    for (const release of locks.splice(0)) release();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // The second signal: out at once. --state is replaced by a rename, so it is whole; a line cut
      // short at the end of --out is cut off by the next run.
      releaseLocks();
      process.stderr.write(`\n${NAME}: stopped at once; --state is consistent with --out. Resume with the same command.\n`);
      process.exit(INTERRUPTED);
    }
    interrupted = signal;
    note(`Stopping (${signal === "SIGINT" ? "Ctrl-C" : signal}): writing what was read and saving --state (${signal === "SIGINT" ? "Ctrl-C" : signal} again to quit at once).`);
    controller.abort();
  };

  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    // 1. The files: locked, the state read and checked against --out, a torn last line cut.
    let state: ExportState | null;
    let outBytes: number;
    try {
      locks.push(takeLock(command.out, "--out"));
      locks.push(takeLock(command.state, "--state"));
      state = await readState(command.state);
      out = await openOut(command.out);
      outBytes = await prepareOut(out, command, state, note);
    } catch (error) {
      if (error instanceof UsageError) return usageError(error.message);
      if (error instanceof FileError) {
        process.stderr.write(`${NAME}: ${error.message}\n`);
        return FAILED;
      }
      throw error;
    }
    if (state !== null && command.since !== undefined) {
      note(`--since ${command.since.text} is ignored: ${command.state} holds a checkpoint, and the export continues from it.`);
    }

    // 2. The client.
    const logger: Logger = {
      warn: (message) => note(`warning: ${scrub(message, command.accountToken)}`),
      error: (message) => note(`error: ${scrub(message, command.accountToken)}`),
      // NODE_DEBUG=merge-crm-engagements: the transport, and every request and response line of the client.
      ...(debug.enabled ? { debug: (message: string) => debug("%s", scrub(message, command.accountToken)) } : {}),
    };
    let merge: Connection["merge"];
    try {
      ({ merge, mock } = await connect(command.target, logger));
    } catch (error) {
      if (error instanceof UsageError) return usageError(error.message);
      throw error;
    }
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
    progress = startExportProgress(process.stderr.isTTY === true, started);
    let saved = state === null ? null : { checkpoint: state.checkpoint, walkDone: state.walkDone };
    let failure: string | undefined;
    let stoppedBy: NodeJS.Signals | undefined;
    try {
      walks: for (let first = true; ; first = false) {
        if (interrupted) {
          stoppedBy = interrupted;
          break;
        }
        const batches = engagementChanges(merge, {
          checkpoint: saved?.checkpoint ?? null,
          ...(first && state === null && command.since !== undefined ? { since: command.since.date } : {}),
          accountToken: command.accountToken,
          signal: controller.signal,
        });
        for await (const batch of batches) {
          const { text, upserts, deletes } = linesOf(batch.changes);
          if (text !== "") {
            const bytes = Buffer.from(text, "utf8");
            await appendDurably(out, bytes, command.out);
            outBytes += bytes.length;
          }
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
          if (interrupted) {
            stoppedBy = interrupted;
            break walks;
          }
        }
        // The walk ended without its last page (never, by the library's contract).
        break;
      }
    } catch (error) {
      if (error instanceof CheckpointError) {
        progress.stop();
        return usageError(`--state: ${command.state} holds a checkpoint this version cannot read (${error.message}); move it away to export everything again`);
      }
      if (interrupted && isAbortError(error)) stoppedBy = interrupted;
      else failure = scrub(error instanceof Error ? `${error.name}: ${error.message}` : String(error), command.accountToken);
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
    printSummary(command, summary, { stoppedBy, failure, resume: exitCode === OK ? undefined : resumeCommand(argv) });
    if (command.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return exitCode;
  } finally {
    progress?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await out?.close();
    releaseLocks();
    await mock?.close();
  }
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

/** Reads --state: `null` when there is none yet. */
async function readState(path: string): Promise<ExportState | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isCode(error, "ENOENT")) return null;
    throw new FileError(`--state: cannot read ${path} (${messageOf(error)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--state: ${path} is not a state file of export (not JSON); give another --state, or move it away to export everything again`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`--state: ${path} is not a state file of export`);
  const { version, checkpoint, walkDone, outBytes } = value as Record<string, unknown>;
  if (version !== STATE_VERSION) throw new UsageError(`--state: ${path} has version ${JSON.stringify(version)}; this version of ${NAME} reads version ${STATE_VERSION}`);
  if (typeof checkpoint !== "string" || checkpoint === "" || typeof outBytes !== "number" || !Number.isSafeInteger(outBytes) || outBytes < 0) {
    throw new UsageError(`--state: ${path} is not a state file of export (it needs a checkpoint and outBytes)`);
  }
  // walkDone only describes the checkpoint: a state without it reads as a walk not done.
  return { version: STATE_VERSION, checkpoint, walkDone: walkDone === true, outBytes };
}

/** Opens (or creates) --out for appending and reading; its folder is fsynced so a new file's name lasts. */
async function openOut(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, "a+");
  } catch (error) {
    throw new FileError(`--out: cannot open ${path} (${messageOf(error)})`);
  }
  try {
    await syncFolder(dirname(path));
  } catch (error) {
    await handle.close();
    throw new FileError(`--out: cannot sync the folder of ${path} (${messageOf(error)})`);
  }
  return handle;
}

/**
 * Checks --out against the state and cuts a last line without its "\n"; resolves to the length of --out
 * after that (where the next lines go).
 */
async function prepareOut(out: FileHandle, command: ExportCommand, state: ExportState | null, note: (message: string) => void): Promise<number> {
  let size: number;
  let complete: number;
  try {
    size = (await out.stat()).size;
    complete = await completeLength(out, size);
  } catch (error) {
    throw new FileError(`--out: cannot read ${command.out} (${messageOf(error)})`);
  }
  if (state !== null) {
    // The state covers whole lines of this file: a shorter file, or no line end where it says, is another file.
    const endsALine = state.outBytes === 0 || (state.outBytes <= complete && (await byteAt(out, state.outBytes - 1)) === 0x0a);
    if (state.outBytes > complete || !endsALine) {
      throw new UsageError(
        `--state: ${command.state} covers ${grouped(state.outBytes)} bytes of --out, but ${command.out} ${state.outBytes > complete ? `has ${grouped(complete)} bytes of complete lines` : "has no line ending there"}: ` +
          `it is not the file that state was written with (truncated, replaced or edited). Give the --out it belongs to, or move ${command.state} away to export everything again.`,
      );
    }
  }
  if (complete < size) {
    try {
      await out.truncate(complete);
      await out.sync();
    } catch (error) {
      throw new FileError(`--out: cannot cut the torn last line of ${command.out} (${messageOf(error)})`);
    }
    note(`${command.out}: cut a torn last line (${grouped(size - complete)} bytes without a line end, from a run that was stopped while writing).`);
  }
  if (state === null && complete > 0) {
    note(`${command.out} has ${grouped(complete)} bytes and ${command.state} does not exist: the export appends every change after them.`);
  }
  return complete;
}

/** The length of the file up to and including its last "\n" (0 when it has none). */
async function completeLength(file: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await file.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

async function byteAt(file: FileHandle, position: number): Promise<number | undefined> {
  const byte = Buffer.alloc(1);
  const { bytesRead } = await file.read(byte, 0, 1, position);
  return bytesRead === 1 ? byte[0] : undefined;
}

/** Appends `bytes` to --out (opened with O_APPEND) and fsyncs it. */
async function appendDurably(out: FileHandle, bytes: Buffer, path: string): Promise<void> {
  try {
    for (let offset = 0; offset < bytes.length; ) {
      const { bytesWritten } = await out.write(bytes, offset, bytes.length - offset, null);
      offset += bytesWritten;
    }
    await out.sync();
  } catch (error) {
    throw new FileError(`--out: cannot write ${path} (${messageOf(error)})`);
  }
}

/** Replaces --state atomically: a temporary file beside it, fsynced, renamed over it, the folder fsynced. */
async function saveState(path: string, state: ExportState): Promise<void> {
  // One run at a time holds the state's lock, so one temporary name will do (a crash's leftover is overwritten).
  const temporary = `${path}.tmp`;
  try {
    const file = await open(temporary, "w");
    try {
      await file.writeFile(`${JSON.stringify(state)}\n`, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    await syncFolder(dirname(path));
  } catch (error) {
    throw new FileError(`--state: cannot write ${path} (${messageOf(error)})`);
  }
}

/** fsyncs a folder, so a file created or renamed in it stays after a power cut (where the system allows it). */
async function syncFolder(path: string): Promise<void> {
  let folder: FileHandle;
  try {
    folder = await open(path, "r");
  } catch (error) {
    // Windows cannot open a folder as a file; there a rename is durable once it returns.
    if (isCode(error, "EISDIR") || isCode(error, "EPERM") || isCode(error, "EACCES")) return;
    throw error;
  }
  try {
    await folder.sync();
  } catch (error) {
    if (!isCode(error, "EINVAL") && !isCode(error, "EBADF") && !isCode(error, "EPERM")) throw error;
  } finally {
    await folder.close();
  }
}

/**
 * Takes `<path>.lock` (O_EXCL, holding the pid), taking over a lock whose process is gone (a run killed
 * with kill -9); returns the release. Two exports into one file would interleave their lines.
 */
function takeLock(path: string, flag: "--out" | "--state"): () => void {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if (!isCode(error, "EEXIST")) throw new FileError(`${flag}: cannot lock ${path} (${messageOf(error)})`);
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(lockPath, "utf8").trim(), 10);
    } catch {
      // Gone meanwhile, or unreadable: try again.
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new UsageError(`${flag}: ${path} is in use by process ${holder} (${lockPath}): another export is writing it`);
    }
    rmSync(lockPath, { force: true });
  }
  throw new FileError(`${flag}: cannot lock ${path}: ${lockPath} keeps coming back`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isCode(error, "EPERM");
  }
}

/**
 * The command that continues: the same words, with an account token given by flag replaced by
 * "$MERGE_ACCOUNT_TOKEN" (a token is never printed; the shell puts it back).
 */
export function resumeCommand(argv: readonly string[]): string {
  const words: string[] = [NAME];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--account-token") {
      words.push(word, '"$MERGE_ACCOUNT_TOKEN"');
      i += 1;
    } else if (word.startsWith("--account-token=")) words.push('--account-token="$MERGE_ACCOUNT_TOKEN"');
    else words.push(shellQuote(word));
  }
  return words.join(" ");
}

function printSummary(
  command: ExportCommand,
  summary: ExportSummary,
  { stoppedBy, failure, resume }: { stoppedBy: NodeJS.Signals | undefined; failure: string | undefined; resume: string | undefined },
): void {
  const read = `${count(summary.pages, "page")}, ${count(summary.records, "record")} in ${duration(summary.durationMs)}`;
  const lines: string[] = [];
  if (summary.caughtUp) lines.push(`Export to ${command.out} caught up: ${read}`);
  else if (stoppedBy !== undefined) lines.push(`Export to ${command.out} stopped by ${stoppedBy === "SIGINT" ? "Ctrl-C" : stoppedBy}: ${read}`);
  else lines.push(`Export to ${command.out} failed: ${failure ?? "unknown error"}`, `  before that: ${read}`);
  const width = Math.max(grouped(summary.upserts).length, grouped(summary.deletes).length);
  lines.push(`  ${"upserts".padEnd(10)}${grouped(summary.upserts).padStart(width)}`, `  ${"deletes".padEnd(10)}${grouped(summary.deletes).padStart(width)}`);
  lines.push(`State: ${command.state}`);
  if (summary.caughtUp) lines.push("Run the same command again to append what changed since.");
  else {
    lines.push(summary.pages > 0 ? `Every line written is covered by ${command.state}. Resume with:` : "Resume with:", `  ${resume ?? ""}`);
    lines.push("  (with MERGE_ACCOUNT_TOKEN set to the token you gave --account-token)");
  }
  process.stderr.write(`${lines.join("\n")}\n`);
}

/** Progress of an export: pages, records and their rate, live on a terminal, a plain line every few seconds elsewhere. */
interface ExportProgress {
  /** Counts one page written. */
  page(records: number, upserts: number, deletes: number): void;
  /** Prints a message without breaking the live line. */
  note(message: string): void;
  /** Draws the last state and stops the timers. */
  stop(): void;
}

function startExportProgress(tty: boolean, started: number, stream: NodeJS.WriteStream = process.stderr): ExportProgress {
  let pages = 0;
  let records = 0;
  let upserts = 0;
  let deletes = 0;
  // Records per page, stamped, for the last RATE_WINDOW_MS.
  const recent: { at: number; records: number }[] = [];
  const rate = () => {
    const now = performance.now();
    while (recent.length > 0 && (recent[0]?.at ?? now) < now - RATE_WINDOW_MS) recent.shift();
    const span = Math.min(now - started, RATE_WINDOW_MS);
    const sum = recent.reduce((total, sample) => total + sample.records, 0);
    return span > 0 ? (sum / span) * 1000 : 0;
  };
  const fields = () => ({
    pages: grouped(pages),
    records: grouped(records),
    rate: grouped(rate()),
    upserts: grouped(upserts),
    deletes: grouped(deletes),
    elapsed: duration(performance.now() - started),
  });
  const line = () => {
    const f = fields();
    return `${f.pages} pages | ${f.records} records | ${f.rate} records/s | upserts ${f.upserts} · deletes ${f.deletes} | ${f.elapsed}`;
  };

  let multi: MultiBar | undefined;
  let bar: SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    multi = new MultiBar(
      { format: "export: {pages} pages | {records} records | {rate} records/s | upserts {upserts} · deletes {deletes} | {elapsed}", stream, hideCursor: true, clearOnComplete: false, fps: 8 },
      Presets.shades_classic,
    );
    bar = multi.create(1, 0, fields());
    // The rate and the time move even while no page arrives (a 429's wait).
    timer = setInterval(() => bar?.update(0, fields()), 1000);
  } else {
    timer = setInterval(() => stream.write(`${NAME} export: ${line()}\n`), PLAIN_PROGRESS_MS);
  }
  timer.unref();

  return {
    page(pageRecords, pageUpserts, pageDeletes) {
      pages += 1;
      records += pageRecords;
      upserts += pageUpserts;
      deletes += pageDeletes;
      recent.push({ at: performance.now(), records: pageRecords });
      bar?.update(0, fields());
    },
    note(message) {
      if (multi) {
        multi.log(`${message}\n`);
        bar?.update(0, fields());
        multi.update();
      } else stream.write(`${message}\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (multi) {
        bar?.update(0, fields());
        multi.update();
        multi.stop();
        multi = undefined;
        bar = undefined;
      }
    },
  };
}

/** "1 page", "12 records". */
function count(n: number, word: string): string {
  return `${grouped(n)} ${n === 1 ? word : `${word}s`}`;
}

/** A message without the account token (the client's errors never hold it; this is a second lock). */
function scrub(message: string, token: string): string {
  return token.length >= 4 ? message.split(token).join("***") : message;
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}

