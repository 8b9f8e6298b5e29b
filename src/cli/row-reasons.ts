/** How the CLI words why a row was not written, the same in every command's output. */
import type { ValidationIssue } from "../index.js";

/** "/model/direction must be one of ...", "(row) is not valid JSON": a problem by its JSON pointer. */
export function problemText(problem: ValidationIssue): string {
  return `${problem.pointer || "(row)"} ${problem.message}`;
}

/** A row's problems, in one line. */
export function problemsText(problems: readonly ValidationIssue[]): string {
  return problems.map(problemText).join("; ");
}

/** An error a row's write ended with, saying when the write may have happened anyway. */
export function rowErrorText(error: { name: string; message: string; writeMayHaveHappened: boolean }): string {
  return `${error.name}: ${error.message}${error.writeMayHaveHappened ? " (the write may have happened)" : ""}`;
}
