/**
 * What an answer to `create` means for a row, its account, its pacer and the failure guard, and whose
 * failure it is (`owner`): created; rejected (problems before sending, or a 4xx other than 401, 403 and
 * 429: the row's, final); account (401 or 403: the key, the token or the account's permissions, not
 * the row: the account is suspended and the row held, sent again once the account works); rate limited
 * (429: paced, retried); transient (5xx, 408, connection, timeout: retried with the row's key, counted
 * as failures); or an error that is none of these (not retried). Read by name and fields, not `instanceof`: this entry may be
 * bundled with another copy of the core than the client that threw.
 */
import type { ValidationIssue } from "../index.js";
import type { BulkRowError } from "./types.js";

/** Backoff of transient failures (the client's defaults): 500 ms doubling, with jitter, up to 30 s. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 30_000;

export type Verdict =
  | { kind: "created"; guard: "success"; detail?: undefined; owner?: undefined }
  | { kind: "invalid"; guard: "neutral"; problems: ValidationIssue[]; detail?: undefined; owner?: undefined }
  | { kind: "rejected"; guard: "failure"; error: BulkRowError; detail: string; owner: "row" }
  | { kind: "rate-limited"; guard: "neutral"; error: BulkRowError; retryAfterMs: number | undefined; detail?: undefined; owner?: undefined }
  | { kind: "transient"; guard: "failure"; error: BulkRowError; detail: string; retryAfterMs?: number; owner: "transient" }
  | { kind: "account"; guard: "failure"; error: BulkRowError; detail: string; owner: "account" }
  | { kind: "fatal"; guard: "neutral"; error: BulkRowError; detail?: undefined; owner?: undefined };

/** What an error from `create` means for the row, the pacer and the guard. */
export function classify(thrown: unknown): Verdict {
  const name = fieldOf(thrown, "name");
  const status = fieldOf(thrown, "status");
  const error = rowError(thrown);
  const problems = problemsOf(thrown);
  if (problems) return { kind: "invalid", guard: "neutral", problems };
  if (typeof status === "number") {
    // A 2xx whose body broke the spec (validateResponses "strict") or was not JSON: the write happened.
    if (name === "MergeResponseValidationError" && status >= 200 && status < 300) return { kind: "created", guard: "success" };
    const statusText = fieldOf(thrown, "statusText");
    const detail = `${status} ${typeof statusText === "string" ? statusText : "error"}`;
    if (status === 429) {
      const retryAfter = fieldOf(thrown, "retryAfterMs");
      return { kind: "rate-limited", guard: "neutral", error, retryAfterMs: typeof retryAfter === "number" ? retryAfter : undefined };
    }
    if (status === 408 || status >= 500) {
      // A 503 may say when to come back (the spec's ServerError has Retry-After), as the client honours it.
      const retryAfterMs = retryAfterOf(fieldOf(thrown, "headers"));
      return retryAfterMs === undefined
        ? { kind: "transient", guard: "failure", error, detail, owner: "transient" }
        : { kind: "transient", guard: "failure", error, detail, retryAfterMs, owner: "transient" };
    }
    // A bad API key or account token, or an account whose permissions were revoked, says nothing of the
    // row: not final, so a rerun once the account works sends it (it must not turn rows into rejects).
    if (status === 401 || status === 403) return { kind: "account", guard: "failure", error, detail, owner: "account" };
    if (status >= 400) return { kind: "rejected", guard: "failure", error, detail, owner: "row" };
  }
  // Connection errors and timeouts may have reached Merge (and failed there): counted as failures.
  if (name === "MergeConnectionError" || name === "MergeTimeoutError") return { kind: "transient", guard: "failure", error, detail: String(name), owner: "transient" };
  return { kind: "fatal", guard: "neutral", error };
}

/** A field of a value of unknown shape (an error from another copy of the core), by name. */
export function fieldOf(value: unknown, field: string): unknown {
  return typeof value === "object" && value !== null ? (Reflect.get(value, field) as unknown) : undefined;
}

/** `Retry-After` of an error's headers in milliseconds (seconds or an HTTP date), capped at `RETRY_MAX_MS`. */
function retryAfterOf(headers: unknown): number | undefined {
  const get = fieldOf(headers, "get");
  if (typeof get !== "function") return undefined;
  const value: unknown = Reflect.apply(get, headers, ["retry-after"]);
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - Date.now();
  return Number.isNaN(ms) ? undefined : Math.min(RETRY_MAX_MS, Math.max(0, ms));
}

/** The problems of a `MergeValidationError` or `MergeReferenceError` (by name), else `undefined`. */
export function problemsOf(error: unknown): ValidationIssue[] | undefined {
  const problems = fieldOf(error, "problems");
  const name = fieldOf(error, "name");
  // A reference that cannot be resolved (MergeReferenceError) is bad input too.
  if ((name !== "MergeValidationError" && name !== "MergeReferenceError") || !Array.isArray(problems)) return undefined;
  return problems.filter((p): p is ValidationIssue => typeof fieldOf(p, "pointer") === "string" && typeof fieldOf(p, "message") === "string");
}

function rowError(thrown: unknown): BulkRowError {
  const name = fieldOf(thrown, "name");
  const message = fieldOf(thrown, "message");
  const status = fieldOf(thrown, "status");
  const error: BulkRowError = {
    name: typeof name === "string" ? name : "Error",
    message: typeof message === "string" ? message : String(thrown),
    writeMayHaveHappened: fieldOf(thrown, "writeMayHaveHappened") !== false,
  };
  if (typeof status === "number") error.status = status;
  return error;
}

/** The id in a create's answer, `null` when there is none. */
export function createdId(response: unknown): string | null {
  const id = fieldOf(fieldOf(response, "model"), "id");
  return typeof id === "string" ? id : null;
}

/** The wait before retry `attempt` (1 for the first retry): 500 ms doubling, half of it random, up to 30 s. */
export function backoff(attempt: number): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
  return base / 2 + (Math.random() * base) / 2;
}
