/**
 * A lock file beside a file, `<path>.lock`, created exclusively and holding the owner's pid: two
 * processes writing one file would interleave (or duplicate) what they write. A lock whose process is
 * gone (a run killed with kill -9) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hasCode, messageOf } from "./errors.js";

/** Why a lock was not taken: a live process holds it, the lock file cannot be written, or it kept reappearing. */
export type FileLockProblem = "held" | "unwritable" | "contested";

/** A lock not taken. The message says why in a few words; callers put it in their own words. */
export class FileLockError extends Error {
  override name = "FileLockError";
  readonly problem: FileLockProblem;
  readonly lockPath: string;
  /** The pid of the live process holding the lock (`problem` "held"). */
  readonly holder: number | undefined;

  constructor(message: string, problem: FileLockProblem, lockPath: string, holder?: number, options: { cause?: unknown } = {}) {
    super(message, options);
    this.problem = problem;
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

export interface FileLockOptions {
  /**
   * Whether a lock holding this process's own pid is a dead run's. True for a command that takes each
   * lock once: the pid was then reused (a container starts its command with the same pid each time).
   * False for a library, where another part of this process may hold the lock.
   * @default false
   */
  ownPidIsStale?: boolean;
}

/** Takes `<path>.lock`; returns its release. Throws `FileLockError`. */
export function takeFileLock(path: string, options: FileLockOptions = {}): () => void {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if (!hasCode(error, "EEXIST")) throw new FileLockError(messageOf(error), "unwritable", lockPath, undefined, { cause: error });
    }
    const holder = lockHolder(lockPath);
    const ours = holder === process.pid && options.ownPidIsStale === true;
    if (holder !== undefined && !ours && isAlive(holder)) throw new FileLockError(`in use by process ${holder}`, "held", lockPath, holder);
    rmSync(lockPath, { force: true });
  }
  throw new FileLockError(`${lockPath} keeps coming back`, "contested", lockPath);
}

/** The pid a lock file holds; `undefined` when it is gone meanwhile, unreadable or holds no pid. */
function lockHolder(lockPath: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, under another user.
    return hasCode(error, "EPERM");
  }
}
