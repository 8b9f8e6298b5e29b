/**
 * What one row's delivery ends in: its outcome, result and error. Bulk and the queue both report these
 * (bulk's journal and summary, the queue's job values), so they belong to the engine they share.
 */
import type { ValidationIssue } from "../index.js";

/** Merge's plans: 100, 400 and 600 requests a minute per linked account. */
export type RatePlan = "launch" | "professional" | "enterprise";

/**
 * How a row ended:
 * - `created`: Merge answered 2xx (`id` is the engagement's, `null` when the body did not say);
 * - `done-before`: the journal holds a final outcome (created or rejected) from an earlier run: not sent;
 * - `rejected`: it cannot succeed as it is: it breaks the spec or the linked account's schema (`problems`,
 *   nothing sent), or Merge answered a 4xx other than 401, 403 and 429 (`error`) while its account worked;
 *   not retried, in this run or the next;
 * - `held`: its linked account is suspended (`reason`: `403 Forbidden ×3`, `RELINK_NEEDED`): the row met
 *   an account-level failure (401, 403, `can_make_request: false`, failures in a row from the account
 *   while others succeeded), or was not sent because its account was suspended. Not final: the next run
 *   with the same journal sends it again, with the same `Idempotency-Key`, once the account works;
 * - `failed`: a transient failure outlasted `maxAttempts`, or the run stopped while the row waited for a
 *   retry; the next run with the same journal sends it again, with the same `Idempotency-Key`;
 * - `valid`: dry runs only: the row passed validation.
 */
export type BulkOutcome = "created" | "done-before" | "rejected" | "held" | "failed" | "valid";

/** What a row's error said (no credential: messages are redacted by the client). */
export interface BulkRowError {
  name: string;
  message: string;
  /** The HTTP status, when Merge answered. */
  status?: number;
  /** Whether the engagement may have been written despite the error. */
  writeMayHaveHappened: boolean;
}

/** One row's result, given to `onResult` as the row settles and recorded in the journal. */
export interface BulkRowResult {
  /** The row's key (its own, or derived: `auto:<hash>:<occurrence>`). */
  key: string;
  /** The row's input line, when the row said. */
  line?: number;
  /** The linked account: 16 hex characters of a hash of its token (never the token). */
  account: string;
  outcome: BulkOutcome;
  /** `created` (and `done-before` of a created row): Merge's id of the engagement. */
  id?: string | null;
  /** `rejected` before sending (and `done-before` of such a row): what is wrong, by JSON pointer. */
  problems?: ValidationIssue[];
  /** `failed`, `held`, or `rejected` by a 4xx: the last error (`AccountSuspended` for a held row never sent). */
  error?: BulkRowError;
  /** `held`: why its linked account is suspended (`"403 Forbidden ×3"`, `"RELINK_NEEDED"`). */
  reason?: string;
  /** Requests sent for this row in this run (0 for `done-before`, `valid` and rows rejected up front). */
  attempts: number;
  /**
   * When this row was first sent with its `Idempotency-Key` (ISO 8601), in this run or an earlier one:
   * Merge keeps the key 24 hours from then.
   */
  sentAt?: string;
  /** For `done-before`: the outcome the journal holds (`created` or `rejected`). */
  before?: "created" | "rejected";
}
