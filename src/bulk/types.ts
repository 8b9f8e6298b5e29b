/** The public types of `merge-crm-engagements/bulk`: rows in, results and a summary out. */
import type { EngagementDraft, Logger, MissingContacts, ValidationIssue } from "../index.js";
import type { AccountHealthOptions } from "../delivery/account-health.js";
import type { FailureGuardMode } from "../delivery/failure-guard.js";
import type { BulkRowResult, RatePlan } from "../delivery/types.js";

export type { BulkOutcome, BulkRowError, BulkRowResult, RatePlan } from "../delivery/types.js";

/** One row to create. */
export interface BulkRow {
  /**
   * The engagement, as `merge.engagements.create` takes it; its contacts, owner, account and engagement
   * type may be references (`{ email }`, `{ name }`, `{ activity_type }`, ...), resolved before the
   * write (see `merge.engagements.resolve`).
   */
  model: EngagementDraft;
  /** The linked account to write to; else `BulkOptions.accountToken`, else the client's own. */
  accountToken?: string;
  /**
   * The row's key, unique within its linked account: what the journal and the `Idempotency-Key` are
   * derived from. Give one when rows have an id of their own (CSV: the column named by `--key`). Without
   * it, the key is derived from the row's content and its occurrence among identical rows.
   */
  key?: string;
  /** The row's line in the input (1-based), carried into its result for reports. */
  line?: number;
}

/** A linked account suspended during a run, and the rows it held. */
export interface SuspendedAccount {
  /** The account's name: 16 hex characters of a hash of its token (never the token). */
  account: string;
  /** What suspended it: `"403 Forbidden ×3"`, `"RELINK_NEEDED"`. */
  reason: string;
  /** When it was suspended (ISO 8601). */
  since: string;
  /** Its rows held in this run: the next run sends them. */
  rowsHeld: number;
  /** Whether it was still suspended when the run ended (`false`: a probe succeeded and it resumed). */
  suspended: boolean;
}

/** The end of a run. `rows` counts the rows that settled; rows never taken (after a stop) are not in it. */
export interface BulkSummary {
  rows: number;
  created: number;
  doneBefore: number;
  rejected: number;
  /** Rows held because their linked account was suspended (see `suspended`). */
  held: number;
  failed: number;
  /** Dry runs: rows that passed validation. */
  valid: number;
  /** Why the run stopped before the end: "aborted", or the failure guard's reason. */
  stopped?: string;
  /** Each linked account suspended in the run that held rows, or was still suspended at its end. */
  suspended: SuspendedAccount[];
  durationMs: number;
}

/** The options of `bulkCreate`. */
export interface BulkOptions {
  /**
   * The journal: a file path (opened, locked and closed by `bulkCreate`), or an open journal. Without
   * one, a rerun cannot skip finished rows (within 24 h it still does not write twice: the same rows get
   * the same `Idempotency-Key`, and Merge replays).
   */
  journal?: string | BulkJournal;
  /** The linked account of rows without their own `accountToken`; else the client's own. */
  accountToken?: string;
  /**
   * What becomes of a contact a row names by an email no contact has: `"reject"` the row, `"omit"` the
   * contact (with a warning to the client's logger), or `"create"` it (`POST /crm/v1/contacts`, once per
   * linked account and email, under a key derived from both). A row's lookups are paced with its
   * account's rate and admitted by the failure guard like writes, and cached per linked account, so a
   * run looks each email, owner, company and engagement type up about once.
   * @default "reject"
   */
  missingContacts?: MissingContacts;
  /**
   * Requests a minute per linked account: a number or a plan (`launch` 100, `professional` 400,
   * `enterprise` 600). Spread evenly: one request every `60000 / rate` ms.
   * @default 100
   */
  ratePerMinute?: number | RatePlan;
  /**
   * Requests in flight overall. A run needs about the accounts' summed rate times the answers' latency
   * (50 accounts at 600/min answered in 1 s: 500); each holds a connection.
   * @default 1000
   */
  concurrency?: number;
  /**
   * Requests in flight per linked account: the account's rate times the answers' latency (600/min
   * answered in 1 s: 10). The default allows the full rate with answers up to 3 s.
   * @default ratePerMinute / 60 × 3, at least 4 (30 at 600/min, 5 at 100/min)
   */
  perAccountConcurrency?: number;
  /**
   * How the importer keeps under Merge's global failure limit (more than 20 failing requests from one
   * IP in 10 s block every linked account):
   * - `"adaptive"`: requests in flight are bounded by the failures seen. With none, as many as the
   *   accounts' rates and the latency need (reached within about three latencies); the first failure
   *   holds every new send until a request sent after it succeeds; under a steady failure rate, the
   *   failures expected in 10 s stay under 20 with 99.997% confidence. Worst case: every request in
   *   flight fails at once, answered as slowly as a success (up to `concurrency` failures).
   * - `"strict"`: every request in flight counts as a failure: never more than 20 failures in 10 s,
   *   whatever the answers, and so never more than 20 requests in flight (20 a second at 1 s answers).
   * Either stops the run after 20 failures in a row, or when accounts that had worked all answer 401
   * or 403 at once (three or more: an API key revoked). Failures explained by one account (see
   * `accountHealth`) count towards the limit but never slow the other accounts.
   * @default "adaptive"
   */
  failureGuard?: FailureGuardMode;
  /**
   * When a linked account is suspended, and how it comes back. An account-level failure (401, 403,
   * `can_make_request: false` in its meta with `accountValidation` on, or `suspendAfter` failures in a
   * row from one account while another succeeds) suspends the account: its rows are held (outcome
   * `held`, not sent) except one probe after `probeBackoffMs` (doubling after each failed probe, up to
   * `maxProbeBackoffMs`); a probe that succeeds resumes the account at its rate. A new account may have
   * `probationInFlight` writes in flight until one succeeds.
   * @default { suspendAfter: 3, probeBackoffMs: 15000, maxProbeBackoffMs: 300000, probationInFlight: 1 }
   */
  accountHealth?: AccountHealthOptions;
  /**
   * Attempts per row for transient failures (5xx, 408, connection errors, timeouts, 429) before it is
   * `failed`.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * Rows taken from the input and not yet settled, at most: what bounds memory. Rows wait here for
   * their account's turn, so it must hold several rows of every account being written (a file sorted
   * by account is written only as many accounts at a time as this holds). A throttled account can hold
   * up to this many rows waiting while the others go on.
   * @default 4 × concurrency, at least 2048 (4000)
   */
  bufferSize?: number;
  /** Validate each row (`merge.engagements.validateCreate`); send nothing, journal nothing. */
  dryRun?: boolean;
  /**
   * Stops the run: no more rows are taken, requests in flight finish, and `bulkCreate` resolves with the
   * summary (`stopped: "aborted"`). One listener on it, whatever the number of rows.
   */
  signal?: AbortSignal;
  /** Called once per row as it settles (also for `done-before` rows). An exception it throws is logged. */
  onResult?: (result: BulkRowResult) => void;
  /** Pacing changes at `info`, the failure guard's waits and stop at `warn`. */
  logger?: Logger;
}

/**
 * The durable record of row outcomes: the one owner of state that survives a crash. `bulkCreate` asks
 * `outcomeOf` before a row and calls `record` as it settles (and once before its first send).
 */
export interface BulkJournal {
  /** The last recorded result of the row, if any. */
  outcomeOf(account: string, key: string): BulkRowResult | undefined;
  /** Records a result; the last record of a row wins. */
  record(result: BulkRowResult): void;
  /** Makes every record durable and releases the journal. */
  close(): Promise<void>;
}
