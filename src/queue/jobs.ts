/**
 * What a job holds, and the names derived for it. A job names its linked account by a hash (as the
 * journal does), carries its token sealed (`cipher.ts`) or a reference the worker resolves, and has an
 * id derived from (account, key), so the same row enqueued twice is one job.
 */
import { createHash } from "node:crypto";
import { isMissingContacts, type EngagementDraft, type MissingContacts } from "../index.js";
import { accountName } from "../delivery/keys.js";

export const DEFAULT_QUEUE = "merge-crm-engagements";
/** BullMQ's name of every job of the queue (what Bull Board shows beside the id). */
export const JOB_NAME = "engagement";
/** The back-off type of the jobs: the workers' strategy (honours `Retry-After`). */
export const BACKOFF_TYPE = "merge-crm-engagements";

export interface JobData {
  v: 1;
  account: string;
  key: string;
  model: EngagementDraft;
  line?: number;
  /** What the worker does with a contact named by an unknown email (when the row's references say so). */
  missingContacts?: MissingContacts;
  /** The account token, sealed with the queue's secret. */
  token?: string;
  /** The account's reference, for the worker's `resolveAccountToken`. */
  accountRef?: string;
}

/** The account name of a row: of its token, or of its reference (a different name: use one form per account). */
export function accountOf(row: { accountToken?: string | undefined; accountRef?: string | undefined }): string {
  return row.accountRef !== undefined ? accountName(`ref\n${row.accountRef}`) : accountName(row.accountToken ?? "");
}

/** A row key's digest in Redis names: 32 hex characters of its SHA-256 (keys may be long, or odd). */
export function keyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 32);
}

/** The job id of (account, key): `mce-<account>-<32 hex>`. */
export function jobIdOf(account: string, key: string): string {
  return `mce-${account}-${keyDigest(key)}`;
}

/** The job's data, checked (a job enqueued by something else is refused with the reason). */
export function readJobData(data: unknown): JobData | string {
  if (typeof data !== "object" || data === null) return "the job's data is not an object";
  const field = (name: string): unknown => Reflect.get(data, name);
  const account = field("account");
  const key = field("key");
  const model = field("model");
  const line = field("line");
  const token = field("token");
  const accountRef = field("accountRef");
  const missingContacts = field("missingContacts");
  if (field("v") !== 1) return "the job was not enqueued by merge-crm-engagements/queue (no v: 1)";
  if (typeof account !== "string" || typeof key !== "string") return "the job's data has no account or key";
  if (typeof model !== "object" || model === null || Array.isArray(model)) return "the job's data has no model";
  const out: JobData = { v: 1, account, key, model: model as EngagementDraft };
  if (isMissingContacts(missingContacts)) out.missingContacts = missingContacts;
  if (typeof line === "number") out.line = line;
  if (typeof token === "string") out.token = token;
  if (typeof accountRef === "string") out.accountRef = accountRef;
  return out;
}
