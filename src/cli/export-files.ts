/**
 * The files of `export`: --out (NDJSON, appended to) and --state (the checkpoint and the length of --out
 * it covers), each locked while a run writes it, in the export's words when something is wrong with them.
 *
 * The order of the writes, for each page read: its lines are appended to --out and --out is fsynced;
 * then --state is replaced atomically with the checkpoint and the length of --out it covers. So --state
 * is never ahead of --out, and a run stopped anywhere (Ctrl-C, a crash, kill -9, a power cut) continues
 * from --state with the same command: complete lines after the length it covers stay, and their changes
 * come again (an upsert or a delete applied twice is harmless). The one rewrite of --out is at the
 * start: a last line without its "\n" (a write cut short) is cut off.
 */
import { readFile, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { UsageError, type ExportCommand } from "./args.js";
import { appendDurably, byteAt, completeLinesLength, replaceDurably, syncFolder, truncateDurably } from "./durable-file.js";
import { FAILED, NAME } from "./exit.js";
import { grouped } from "./progress.js";
import { CommandFailure } from "./runner.js";
import { hasCode, messageOf } from "../internal/errors.js";
import { FileLockError, takeFileLock } from "../internal/file-lock.js";

/** The layout of --state this version writes and reads. */
export const STATE_VERSION = 1;

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

/** A file that could not be read or written: exit 1 (run again once the disk or permission allows). */
export class FileError extends CommandFailure {
  override name = "FileError";
  constructor(message: string) {
    super(message, FAILED);
  }
}

/**
 * Takes the lock of --out or --state; returns the release. Two exports into one file would interleave
 * their lines. Each lock is taken once per run, so a lock holding this process's pid is a dead run's.
 */
export function lockExportFile(path: string, flag: "--out" | "--state"): () => void {
  try {
    return takeFileLock(path, { ownPidIsStale: true });
  } catch (error) {
    if (!(error instanceof FileLockError)) throw error;
    if (error.problem === "held") throw new UsageError(`${flag}: ${path} is in use by process ${error.holder} (${error.lockPath}): another export is writing it`);
    if (error.problem === "unwritable") throw new FileError(`${flag}: cannot lock ${path} (${error.message})`);
    throw new FileError(`${flag}: cannot lock ${path}: ${error.message}`);
  }
}

/** Reads --state: `null` when there is none yet. */
export async function readState(path: string): Promise<ExportState | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (hasCode(error, "ENOENT")) return null;
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

/** Replaces --state (atomically: it is never seen half-written). */
export async function saveState(path: string, state: ExportState): Promise<void> {
  try {
    await replaceDurably(path, `${JSON.stringify(state)}\n`);
  } catch (error) {
    throw new FileError(`--state: cannot write ${path} (${messageOf(error)})`);
  }
}

/** Opens (or creates) --out for appending and reading; its folder is fsynced so a new file's name lasts. */
export async function openOut(path: string): Promise<FileHandle> {
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
export async function prepareOut(out: FileHandle, command: ExportCommand, state: ExportState | null, note: (message: string) => void): Promise<number> {
  let size: number;
  let complete: number;
  try {
    size = (await out.stat()).size;
    complete = await completeLinesLength(out, size);
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
      await truncateDurably(out, complete);
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

/** Appends a page's lines to --out (opened with O_APPEND) and fsyncs it. */
export async function appendToOut(out: FileHandle, bytes: Uint8Array, path: string): Promise<void> {
  try {
    await appendDurably(out, bytes);
  } catch (error) {
    throw new FileError(`--out: cannot write ${path} (${messageOf(error)})`);
  }
}
