/**
 * The core's half of account validation: a create body checked against the linked account's compiled
 * meta schema (loaded by src/core/validation/account-validation.ts), with the spec's own `check`.
 */
import type { AccountSchema } from "./account-validation.js";
import type { ValidationIssue } from "../errors.js";
import { check, failing, type Problem } from "./runtime.js";

/**
 * The problems of a request body under the linked account's schema, worded as the account's (not the
 * spec's) requirements; a linked account that cannot make requests is a problem of its own.
 */
export function accountProblems(account: AccountSchema, body: unknown): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (!account.canMakeRequest) {
    problems.push({
      pointer: "/header/X-Account-Token",
      message: `the linked account cannot make requests now (linked_account_status ${account.linkedAccountStatus ?? "unknown"}): fix it in Merge, for example by relinking it`,
    });
  }
  const found: Problem[] = [];
  check(account.compiled.table, 0, body, "", found);
  for (const { pointer, message } of failing(found, false)) {
    problems.push({ pointer, message: `${message}: required by the linked account's CRM (meta request_schema), not by the spec` });
  }
  return problems;
}
