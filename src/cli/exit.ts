/** The CLI's name and exit codes, shared by its commands. */

export const NAME = "merge-crm-engagements";

/** Every row written, queued or done before; a worker or status that ended normally; an export caught up. */
export const OK = 0;
/** Some rows rejected or failed, or the queue's Redis unreachable. */
export const ROWS_NOT_WRITTEN = 1;
/** An export that failed: an API error after the client's retries, or a file it could not read or write. */
export const FAILED = 1;
/** A usage or configuration error: the command line or the environment must change. */
export const USAGE_ERROR = 2;
/** Stopped by Ctrl-C (128 + SIGINT). */
export const INTERRUPTED = 130;

/** Prints a usage or configuration error and returns its exit code. */
export function usageError(message: string): number {
  process.stderr.write(`${NAME}: ${message}\nRun '${NAME} --help' for usage.\n`);
  return USAGE_ERROR;
}
