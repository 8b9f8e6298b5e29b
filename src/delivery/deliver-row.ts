/**
 * One row's delivery: the code `bulkCreate` and the queue's workers share, so that a
 * row means the same whoever sends it. What is done before? (the done-store) -> older than Merge's key
 * lifetime and maybe written? (not resent) -> the spec and the linked account's schema (`validateCreate`)
 * -> the account's health, its turn and the failure guard's permit (the gate) -> `create` with
 * `maxRetries: 0` and the row's deterministic `Idempotency-Key` -> what the answer means (`classify`),
 * for the row, the account, the pacer and the guard. A row whose account is suspended, or that met an
 * account-level failure, is held: not final, sent again (with its key) once the account works.
 *
 * What differs between the two lives behind small interfaces: where outcomes are kept (`DoneStore`: the
 * journal file, or Redis) and how a send is admitted (`SendGate`: semaphores and timers in one process,
 * or scripts in Redis shared by a fleet, which may answer "come back later" so the row waits in Redis
 * instead of in a worker).
 */
import { isMissingContacts, isResolved, type AccountTokenMode, type EngagementDraft, type EngagementInput, type MergeCrmClient, type MissingContacts, type RequestWrapper, type ValidationIssue } from "../index.js";
import type { FailureOwner } from "./account-health.js";
import { classify, createdId, fieldOf, problemsOf } from "./verdicts.js";
import type { SendResult } from "./failure-guard.js";
import { idempotencyKeyFor } from "./keys.js";
import type { BulkRowError, BulkRowResult } from "./types.js";

/**
 * Merge keeps an idempotency key 24 hours. A row that may have been written (in flight at a crash, or a
 * 5xx after every attempt) and was first sent longer ago than this is not resent: Merge may no longer
 * recognise its key, and sending it again could write it twice.
 */
export const KEY_LIFETIME_MS = 23 * 3_600_000;

/** Where row outcomes are kept: the one owner of what survives a crash. */
export interface DoneStore {
  /** The last recorded result of the row, if any. */
  outcomeOf(account: string, key: string): BulkRowResult | undefined | Promise<BulkRowResult | undefined>;
  /** Records a result; the last record of a row wins. */
  record(result: BulkRowResult): void | Promise<void>;
}

/** A suspended linked account, as the gate reports it. */
export interface AccountSuspension {
  /** What suspended it: `"403 Forbidden ×3"`, `"RELINK_NEEDED"`. */
  reason: string;
  /** Since when, epoch milliseconds. */
  since: number;
  /** When its next probe may be sent, epoch milliseconds. */
  untilMs: number;
}

/** What the gate made of an answer. */
export interface SettleAnswer {
  /** Set when the row's account is suspended after the answer: the row is held. */
  suspended?: AccountSuspension | undefined;
}

/** A send the gate let through: settle it exactly once. */
export interface SendPermit {
  /** When it was admitted, on the gate's clock (what a 429 is compared with). */
  readonly sentAt: number;
  /**
   * The answer, for the account's health and the failure guard; `detail` names a failure (for example
   * "400 Bad Request"), `owner` says whose it is.
   */
  settle(result: SendResult, detail?: string, owner?: FailureOwner): SettleAnswer | void | Promise<SettleAnswer | void>;
  /** The answer was 429: pause and slow the account (`Retry-After` in `retryAfterMs`, when it said). */
  throttled(retryAfterMs: number | undefined): void | Promise<void>;
}

/**
 * The gate's answer: send now, the run stopped, come back at `untilMs` (epoch milliseconds), or held:
 * the account is suspended, and its next probe is due at `untilMs`.
 */
export type Admission =
  | { kind: "send"; permit: SendPermit }
  | { kind: "stopped" }
  | { kind: "later"; untilMs: number; reason: string }
  | ({ kind: "held" } & AccountSuspension);

/** Admits sends: an account's health and pacing, and the failure guard. */
export interface SendGate {
  /** Waits for the account's turn and a permit of the guard, or says when to come back. */
  admit(account: string): Promise<Admission>;
  /** Suspends the account without a send (its meta says it cannot make requests; `reason`: its status). */
  suspend(account: string, reason: string): Promise<AccountSuspension>;
  /** After a transient failure that asks for `waitMs`: wait and go `again`, `stopped`, or hand the row back (`later`). */
  retryAfter(waitMs: number): Promise<"again" | "stopped" | "later">;
}

/** A row to deliver, its names resolved. */
export interface RowToDeliver {
  /** The engagement; its contacts, owner, account and engagement type may be references (`engagements.resolve`). */
  model: EngagementDraft;
  /** The linked account's token; `undefined`: the client's own. */
  token: string | undefined;
  /** The account's name (a hash of its token) and the row's key: what outcomes are kept under. */
  account: string;
  key: string;
  line?: number;
}

export interface DeliveryContext {
  client: MergeCrmClient<AccountTokenMode>;
  gate: SendGate;
  doneStore?: DoneStore | undefined;
  /** Sends of the row, in all (`attemptsBefore` count towards it). */
  maxAttempts: number;
  /** Sends of the row before this delivery (a queue's earlier attempts). @default 0 */
  attemptsBefore?: number;
  /** Validate only: nothing sent, nothing recorded. */
  dryRun?: boolean;
  /** The wait before a retry with no `Retry-After`. */
  backoff(attempt: number): number;
  /** What a contact named by an unknown email becomes (`engagements.resolve`). @default "reject" */
  missingContacts?: MissingContacts | undefined;
}

/**
 * How a delivery ended:
 * - `settled`: the row has its result (recorded in the done-store when it is one to keep);
 * - `held`: its account is suspended; `result` (outcome `held`, recorded) says why; its next probe is
 *   due at `untilMs`;
 * - `later`: not sent now; come back at `untilMs` (the gate's answer: the account is not due);
 * - `retry`: sent, failed transiently; send again after `waitMs` (with the same key);
 * - `not-sent`: the run stopped before anything was sent; no result.
 */
export type Delivery =
  | { kind: "settled"; result: BulkRowResult }
  | { kind: "held"; result: BulkRowResult; untilMs: number }
  | { kind: "later"; untilMs: number; reason: string }
  | { kind: "retry"; waitMs: number; error: BulkRowError; attempts: number }
  | { kind: "not-sent" };

export const INTERRUPTED: BulkRowError = {
  name: "Interrupted",
  message: "Sent, and the run ended before Merge's answer was recorded; the next run sends it again with the same Idempotency-Key",
  writeMayHaveHappened: true,
};
const STOPPED: BulkRowError = { name: "Stopped", message: "The run stopped while the row waited to be retried", writeMayHaveHappened: false };

/** The pointer of the problem `validateCreate` reports for a linked account that cannot make requests. */
const ACCOUNT_POINTER = "/header/X-Account-Token";

/** The account's `linked_account_status` (`RELINK_NEEDED`), from its cached meta. */
async function accountStatus(client: MergeCrmClient<AccountTokenMode>, option: { accountToken?: string }): Promise<string> {
  try {
    const described = await client.engagements.describeCreate(option);
    return described.linkedAccountStatus ?? "can_make_request: false";
  } catch {
    return "can_make_request: false";
  }
}

/** Delivers one row (unique in flight: the caller keeps two rows of one key apart). */
export async function deliverRow(context: DeliveryContext, row: RowToDeliver): Promise<Delivery> {
  const { client, gate, doneStore, dryRun = false } = context;
  const { key, account, token } = row;
  const base: { key: string; account: string; line?: number } = { key, account };
  if (row.line !== undefined) base.line = row.line;
  const settled = async (result: BulkRowResult, keep: boolean): Promise<Delivery> => {
    if (keep && !dryRun) await doneStore?.record(result);
    return { kind: "settled", result };
  };

  const previous = await doneStore?.outcomeOf(account, key);
  if (previous && (previous.outcome === "created" || previous.outcome === "rejected")) {
    const result: BulkRowResult = { ...base, outcome: "done-before", before: previous.outcome, attempts: 0 };
    if (previous.id !== undefined) result.id = previous.id;
    if (previous.problems) result.problems = previous.problems;
    if (previous.error) result.error = previous.error;
    if (previous.sentAt) result.sentAt = previous.sentAt;
    return settled(result, false);
  }
  const firstSent = previous?.sentAt === undefined ? undefined : Date.parse(previous.sentAt);
  if (previous?.error?.writeMayHaveHappened && firstSent !== undefined && Date.now() - firstSent > KEY_LIFETIME_MS) {
    const error: BulkRowError = {
      name: "StaleIdempotencyKey",
      message:
        `Not resent: it may have been written when first sent at ${previous.sentAt} (${previous.error.name}: ${previous.error.message}), ` +
        "and Merge forgets idempotency keys after 24 h, so sending it again could write it twice. Check the CRM; to send it anyway, give the row a new key.",
      writeMayHaveHappened: true,
    };
    const result: BulkRowResult = { ...base, outcome: "failed", error, attempts: 0 };
    if (previous.sentAt) result.sentAt = previous.sentAt;
    return settled(result, false);
  }

  let sentAt = previous?.sentAt;
  let attempts = 0;
  let lastError: BulkRowError | undefined;
  // Whether any send of this key, in this run or before, may have written: a last 429 does not undo
  // an earlier 5xx, and the next run's 24 h check depends on it.
  let mayHaveWritten = previous?.error?.writeMayHaveHappened === true;
  const stamped = (result: BulkRowResult): BulkRowResult => (sentAt === undefined ? result : { ...result, sentAt });
  /** Held: kept as not done (with what earlier sends may have done), sent again once the account works. */
  const held = async (suspension: AccountSuspension, met: BulkRowError | undefined): Promise<Delivery> => {
    const since = new Date(suspension.since).toISOString();
    const error: BulkRowError = met
      ? { ...met, writeMayHaveHappened: mayHaveWritten }
      : { name: "AccountSuspended", message: `Not sent: linked account ${account} is suspended (${suspension.reason}) since ${since}`, writeMayHaveHappened: mayHaveWritten };
    const result = stamped({ ...base, outcome: "held", reason: suspension.reason, error, attempts });
    if (!dryRun) await doneStore?.record(result);
    return { kind: "held", result, untilMs: suspension.untilMs };
  };

  const accountOption = token === undefined ? {} : { accountToken: token };
  // Most rows name Merge's ids: they skip resolution (and its awaits) altogether.
  const resolved = isResolved(row.model)
    ? { model: row.model }
    : await resolveReferences(context, row, (admission) => {
        if (admission.kind === "held") return held(admission, lastError);
        if (admission.kind === "later") return admission;
        return { kind: "not-sent" };
      });
  if ("kind" in resolved) return resolved;
  if ("problems" in resolved) {
    return resolved.valid ? settled({ ...base, outcome: "valid", attempts: 0 }, false) : settled({ ...base, outcome: "rejected", problems: resolved.problems, attempts: 0 }, true);
  }
  if ("error" in resolved) return settled({ ...base, outcome: "failed", error: resolved.error, attempts: 0 }, true);
  const model = resolved.model;
  let problems: ValidationIssue[];
  try {
    problems = await client.engagements.validateCreate(model, accountOption);
  } catch (error) {
    const found = problemsOf(error);
    if (!found) throw error;
    problems = found;
  }
  // `can_make_request: false` in the account's meta: the account's problem, not the row's.
  if (!dryRun && problems.some((problem) => problem.pointer === ACCOUNT_POINTER)) {
    return held(await gate.suspend(account, await accountStatus(client, accountOption)), undefined);
  }
  if (problems.length > 0) return settled({ ...base, outcome: "rejected", problems, attempts: 0 }, true);
  if (dryRun) return settled({ ...base, outcome: "valid", attempts: 0 }, false);

  const idempotencyKey = idempotencyKeyFor(token ?? "", key);
  const attemptsBefore = context.attemptsBefore ?? 0;
  for (;;) {
    const admission = await gate.admit(account);
    if (admission.kind === "stopped") break;
    if (admission.kind === "held") return held(admission, lastError);
    // Not due (after a 429, or before any send): the row goes back; what it learnt is in the done-store.
    if (admission.kind === "later") return admission;
    const { permit } = admission;
    if (attempts === 0) {
      // Before this delivery's first send: a crash from here on leaves a record saying the row may be
      // written. `sentAt` keeps the earliest send of the key (the stale check errs on the safe side).
      sentAt ??= new Date().toISOString();
      await doneStore?.record({ ...base, outcome: "failed", error: INTERRUPTED, attempts: 1, sentAt });
    }
    attempts++;
    let value: unknown;
    let thrown: { error: unknown } | undefined;
    try {
      value = await client.engagements.create(model, { ...accountOption, idempotencyKey, maxRetries: 0 });
    } catch (error) {
      thrown = { error };
    }
    if (!thrown) {
      await permit.settle("success");
      return settled(stamped({ ...base, outcome: "created", id: createdId(value), attempts }), true);
    }
    const verdict = classify(thrown.error);
    const answer = await permit.settle(verdict.guard, verdict.detail, verdict.owner);
    if (verdict.kind === "created") return settled(stamped({ ...base, outcome: "created", id: null, attempts }), true);
    if (verdict.kind === "invalid") return settled(stamped({ ...base, outcome: "rejected", problems: verdict.problems, attempts }), true);
    mayHaveWritten ||= verdict.error.writeMayHaveHappened;
    // The account is suspended (by this answer or before it): the row is not at fault, or cannot be told.
    const suspended = answer ? answer.suspended : undefined;
    if (suspended && verdict.kind !== "fatal") return held(suspended, verdict.error);
    if (verdict.kind === "rejected") return settled(stamped({ ...base, outcome: "rejected", error: verdict.error, attempts }), true);
    lastError = verdict.error;
    if (verdict.kind === "fatal" || verdict.kind === "account" || attemptsBefore + attempts >= context.maxAttempts) break;
    if (verdict.kind === "rate-limited") {
      await permit.throttled(verdict.retryAfterMs);
      continue;
    }
    const waitMs = verdict.kind === "transient" && verdict.retryAfterMs !== undefined ? verdict.retryAfterMs : context.backoff(attemptsBefore + attempts);
    const next = await gate.retryAfter(waitMs);
    if (next === "stopped") break;
    if (next === "later") return { kind: "retry", waitMs, error: { ...verdict.error, writeMayHaveHappened: mayHaveWritten }, attempts };
  }
  // Never sent in this delivery (the run stopped first): like a row not taken, it has no result.
  if (attempts === 0 && lastError === undefined) return { kind: "not-sent" };
  const result: BulkRowResult = { ...base, outcome: "failed", error: { ...(lastError ?? STOPPED), writeMayHaveHappened: mayHaveWritten }, attempts };
  if (sentAt !== undefined) result.sentAt = sentAt;
  return settled(result, true);
}

/** The problem of a `missingContacts` option that is none of its values, named by `pointer`. */
export function missingContactsProblems(value: unknown, pointer: string): ValidationIssue[] {
  if (value === undefined || isMissingContacts(value)) return [];
  return [{ pointer, message: 'must be "reject", "omit" or "create"' }];
}

/** A lookup the gate did not let through: the row goes back as the gate said. */
class NotAdmitted extends Error {
  constructor(readonly admission: Exclude<Admission, { kind: "send" }>) {
    super(`not admitted: ${admission.kind}`);
  }
}

/** What resolving a row's references gave: its model, problems (rejected, or valid in a dry run), an error, or a delivery to return. */
type Resolved = { model: EngagementInput } | { problems: ValidationIssue[]; valid: boolean } | { error: BulkRowError } | Delivery;

/**
 * Resolves the row's references (`engagements.resolve`) before its write: each lookup (and the create
 * of a missing contact) is admitted by the gate like a write, paced with the account's rate and
 * counted by the failure guard, and sent once (`maxRetries: 0`), so a failure is seen here and retried
 * like a write's. A dry run looks up but creates nothing: a contact it would create is not a problem.
 */
async function resolveReferences(
  context: DeliveryContext,
  row: RowToDeliver,
  notAdmitted: (admission: Exclude<Admission, { kind: "send" }>) => Promise<Delivery> | Delivery,
): Promise<Resolved> {
  const { client, gate, dryRun = false } = context;
  const missing = context.missingContacts ?? "reject";
  const around: RequestWrapper = async (send) => {
    const admission = await gate.admit(row.account);
    if (admission.kind !== "send") throw new NotAdmitted(admission);
    let value;
    try {
      value = await send();
    } catch (error) {
      const verdict = classify(error);
      await admission.permit.settle(verdict.guard, verdict.detail, verdict.owner);
      if (verdict.kind === "rate-limited") await admission.permit.throttled(verdict.retryAfterMs);
      throw error;
    }
    await admission.permit.settle("success");
    return value;
  };
  const options = {
    ...(row.token === undefined ? {} : { accountToken: row.token }),
    missingContacts: dryRun && missing === "create" ? ("reject" as const) : missing,
    maxRetries: 0,
    ...(dryRun ? {} : { around }),
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return { model: await client.engagements.resolve(row.model, options) };
    } catch (error) {
      if (error instanceof NotAdmitted) return notAdmitted(error.admission);
      const verdict = classify(error);
      if (verdict.kind === "invalid") {
        // A dry run creates nothing: a contact it would create does not make the row invalid.
        const wouldCreate = dryRun && missing === "create" && fieldOf(error, "references") !== undefined && verdict.problems.every(isMissingContact);
        return { problems: verdict.problems, valid: wouldCreate };
      }
      const attempts = (context.attemptsBefore ?? 0) + attempt;
      if (verdict.kind === "created" || verdict.kind === "fatal" || verdict.kind === "rejected" || attempts >= context.maxAttempts) {
        return { error: { ...("error" in verdict ? verdict.error : { name: "Error", message: String(error) }), writeMayHaveHappened: false } };
      }
      // Transient, throttled (the pacer slowed the account) or the account's (its health decides): again.
      const waitMs = verdict.kind === "transient" && verdict.retryAfterMs !== undefined ? verdict.retryAfterMs : verdict.kind === "rate-limited" ? 0 : context.backoff(attempts);
      const next = waitMs > 0 ? await gate.retryAfter(waitMs) : "again";
      if (next === "stopped") return { kind: "not-sent" };
      // A retry, not a "later": the queue counts it as an attempt (a "later" counts none, and a lookup that
      // fails every time would be retried for ever, never growing its back-off).
      if (next === "later") return { kind: "retry", waitMs, error: { ...verdict.error, writeMayHaveHappened: false }, attempts: 0 };
    }
  }
}

/** A reference problem saying no contact has the email (what `missingContacts: "create"` would create). */
function isMissingContact(problem: ValidationIssue): boolean {
  return fieldOf(problem, "kind") === "contact" && fieldOf(problem, "reason") === "not-found" && typeof fieldOf(fieldOf(problem, "lookedFor"), "email") === "string";
}
