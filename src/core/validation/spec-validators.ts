/**
 * Request and response checking with the validators generated from the spec
 * (generated/validators.ts). Requests are checked before any byte is sent; responses after parsing.
 */
import { operations, schemas, type OperationId } from "../../../generated/validators.js";
import { MergeResponseValidationError, MergeValidationError, type ValidationIssue } from "../errors.js";
import { check, failing, type Problem } from "./runtime.js";

export type { OperationId };

/** What a request is made of, as the spec's parameter locations name them. */
export interface RequestParts {
  query?: object;
  path?: object;
  header?: object;
  body?: unknown;
}

/** How responses are checked: not at all, reported to the logger, or rejected. */
export type ResponseValidationMode = "off" | "warn" | "strict";

function issues(problems: readonly Problem[]): ValidationIssue[] {
  return problems.map(({ pointer, message }) => ({ pointer, message }));
}

/**
 * Throws `MergeValidationError` when the request breaks the spec. Body pointers are Merge's own
 * (`/model/direction`); parameters are under `/query`, `/path` and `/header`. Unknown fields fail only
 * when `strict`.
 */
export function validateRequest(operation: OperationId, parts: RequestParts, strict: boolean, idempotencyKey?: string): void {
  const validators = operations[operation];
  const problems: Problem[] = [];
  if (parts.query !== undefined && validators.query !== undefined) check(schemas, validators.query, parts.query, "/query", problems);
  if (parts.path !== undefined && validators.path !== undefined) check(schemas, validators.path, parts.path, "/path", problems);
  if (parts.header !== undefined && validators.header !== undefined) check(schemas, validators.header, parts.header, "/header", problems);
  if (validators.body !== undefined) check(schemas, validators.body, parts.body, "", problems);
  const faults = failing(problems, strict);
  if (faults.length > 0) throw new MergeValidationError(issues(faults), { idempotencyKey });
}

/**
 * The faults of a 2xx body against the spec: unknown fields and unknown enum values never count
 * (the spec's response enums are open), anything else does.
 */
export function responseProblems(operation: OperationId, status: number, data: unknown): ValidationIssue[] {
  const schema = operations[operation].responses[String(status)];
  if (schema === undefined) return [];
  const problems: Problem[] = [];
  check(schemas, schema, data, "", problems);
  return issues(failing(problems, false));
}

export function responseError(
  status: number,
  problems: readonly ValidationIssue[],
  where: string,
  options: { idempotencyKey?: string | undefined; writeMayHaveHappened: boolean },
): MergeResponseValidationError {
  const shown = problems.slice(0, 5).map((p) => `${p.pointer || "/"}: ${p.message}`).join("; ");
  return new MergeResponseValidationError(status, problems, `${where}: the response does not match the spec: ${shown}`, options);
}
