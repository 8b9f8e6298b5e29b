/** Helpers every part of the package shares for errors of unknown shape (never exported). */

/** What an error says, whatever was thrown: its message, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error's name and message (`MergeServerError: ...`), whatever was thrown. */
export function nameAndMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Whether a Node system error carries `code` (`ENOENT`, `EEXIST`, `EPERM`). */
export function hasCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}

/** Whether an error is the standard `AbortError` a stopped call rejects with. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}
