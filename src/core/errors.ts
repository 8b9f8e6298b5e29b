/**
 * The error tree. Every failure of a call rejects with a `MergeError` (or the caller's own
 * `AbortError`): never an untyped error. No error holds the API key or the account token: messages,
 * bodies and URLs are redacted before they are stored, and request headers are never kept.
 */

import { parseRetryAfter } from "./retry-after.js";

/** One problem with a value, located by a JSON pointer (`/model/direction`). */
export interface ValidationIssue {
  /** A JSON pointer into the request, such as `/model/direction` or `/header/X-Account-Token`. */
  pointer: string;
  /** What is wrong there. */
  message: string;
}

/** What every Merge error may say about a write. */
export interface MergeErrorOptions {
  cause?: unknown;
  /** The `Idempotency-Key` the write was sent with, to retry it safely. */
  idempotencyKey?: string | undefined;
  /** Whether the engagement may have been written despite the error. */
  writeMayHaveHappened?: boolean;
}

/** The base of every error this client throws. */
export class MergeError extends Error {
  override name = "MergeError";
  /** The `Idempotency-Key` the write was sent with; retry with the same key to avoid duplicates. */
  readonly idempotencyKey: string | undefined;
  /**
   * `true` when the request was a write that may have been stored despite this error (the server
   * may have acted before the failure). `false` for reads and for writes that certainly did not happen.
   */
  readonly writeMayHaveHappened: boolean;

  constructor(message: string, options: MergeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.idempotencyKey = options.idempotencyKey;
    this.writeMayHaveHappened = options.writeMayHaveHappened ?? false;
  }

  /**
   * What `JSON.stringify(error)` shows: the name, the message and every public field of the error
   * (headers as a plain object). No field holds a credential, so none can leak this way.
   */
  toJSON(): Record<string, unknown> {
    const fields: Record<string, unknown> = { name: this.name, message: this.message };
    for (const [key, value] of Object.entries(this)) fields[key] = value instanceof Headers ? Object.fromEntries(value) : value;
    return fields;
  }
}

/** What a `MergeApiError` is built from. */
export interface MergeApiErrorInit extends MergeErrorOptions {
  status: number;
  statusText: string;
  headers: Headers;
  body: unknown;
  method: string;
  url: string;
}

/** The API answered with a status outside 2xx. */
export class MergeApiError extends MergeError {
  override name = "MergeApiError";
  /** The HTTP status. */
  readonly status: number;
  /** The response's status text, or the standard reason phrase when it had none (HTTP/2): "Bad Request". */
  readonly statusText: string;
  /** The response headers. */
  readonly headers: Headers;
  /** The parsed JSON body; the text when it is not JSON; `null` when the body is empty. */
  readonly body: unknown;
  /** The request id Merge sent (`X-Request-Id`), when present. */
  readonly requestId: string | undefined;
  /** The HTTP method of the request. */
  readonly method: string;
  /** The request URL (no credentials). */
  readonly url: string;

  constructor(init: MergeApiErrorInit) {
    super(apiErrorMessage(init), init);
    this.status = init.status;
    this.statusText = statusTextOf(init);
    this.headers = init.headers;
    this.body = init.body;
    this.requestId = init.headers.get("x-request-id") ?? undefined;
    this.method = init.method;
    this.url = init.url;
  }
}

/** 400: the request is malformed or the third-party CRM does not support it. Do not retry it unchanged. */
export class MergeBadRequestError extends MergeApiError {
  override name = "MergeBadRequestError";
}
/** 401: the API key or the account token is missing or invalid. */
export class MergeAuthenticationError extends MergeApiError {
  override name = "MergeAuthenticationError";
}
/** 403: the API key may not act on this linked account or resource. */
export class MergePermissionError extends MergeApiError {
  override name = "MergePermissionError";
}
/** 404: no such object, or no such linked account. */
export class MergeNotFoundError extends MergeApiError {
  override name = "MergeNotFoundError";
}
/** 409: the request conflicts with the current state (for example an idempotency key in use). */
export class MergeConflictError extends MergeApiError {
  override name = "MergeConflictError";
}
/** 422: the request is well-formed but was refused. */
export class MergeUnprocessableError extends MergeApiError {
  override name = "MergeUnprocessableError";
}
/** 429: the linked account's rate limit was reached. `retryAfterMs` says how long to wait, when known. */
export class MergeRateLimitError extends MergeApiError {
  override name = "MergeRateLimitError";
  /** The server's `Retry-After` (seconds or HTTP date) in milliseconds; `undefined` when it sent none. */
  readonly retryAfterMs: number | undefined;
  constructor(init: MergeApiErrorInit) {
    super(init);
    this.retryAfterMs = parseRetryAfter(init.headers.get("retry-after"));
  }
}
/** 5xx: Merge or the third-party CRM failed. A write may have happened: see `writeMayHaveHappened`. */
export class MergeServerError extends MergeApiError {
  override name = "MergeServerError";
}

/** The request could not be completed: DNS, refused or reset connection, a body cut short. */
export class MergeConnectionError extends MergeError {
  override name = "MergeConnectionError";
}

/** An attempt took longer than `timeoutMs`. */
export class MergeTimeoutError extends MergeConnectionError {
  override name = "MergeTimeoutError";
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options: MergeErrorOptions = {}) {
    super(message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** A value given to the client is invalid; nothing was sent. `problems` locate each fault. */
export class MergeValidationError extends MergeError {
  override name = "MergeValidationError";
  /** Each problem, with the JSON pointer of the faulty value. */
  readonly problems: readonly ValidationIssue[];
  constructor(problems: readonly ValidationIssue[], options: MergeErrorOptions = {}) {
    super(validationMessage(problems), { ...options, writeMayHaveHappened: false });
    this.problems = problems;
  }
}

/** What a reference of a draft named, by which field. */
export type ReferenceKind = "contact" | "owner" | "account" | "engagement_type";

/** One reference `engagements.resolve` could not turn into an id. */
export interface ReferenceIssue extends ValidationIssue {
  /** Which kind of object was looked for. */
  kind: ReferenceKind;
  /** What it was looked for by, as the draft gave it: `{ email: "ada@example.com" }`, `{ activity_type: "CALL" }`. */
  lookedFor: Readonly<Record<string, unknown>>;
  /**
   * Why: `"not-found"` (no match), `"ambiguous"` (several matches: never a guess), `"invalid"` (the
   * reference itself is malformed).
   */
  reason: "not-found" | "ambiguous" | "invalid";
  /** The ids of the matches, when there were several. */
  candidates?: string[];
}

/**
 * References of a draft that could not be resolved: each with its pointer (`/model/contacts/1`), what
 * was looked for and why. Nothing was sent for the engagement. A `MergeValidationError`, so code that
 * handles bad input handles it too.
 */
export class MergeReferenceError extends MergeValidationError {
  override name = "MergeReferenceError";
  /** Each reference that failed (the same entries as `problems`). */
  readonly references: readonly ReferenceIssue[];
  constructor(references: readonly ReferenceIssue[], options: MergeErrorOptions = {}) {
    super(references, options);
    this.references = references;
  }
}

/** A 2xx response whose body does not match the spec (or is not JSON at all). */
export class MergeResponseValidationError extends MergeError {
  override name = "MergeResponseValidationError";
  /** The HTTP status of the response. */
  readonly status: number;
  /** Each problem found in the response body. */
  readonly problems: readonly ValidationIssue[];
  constructor(status: number, problems: readonly ValidationIssue[], message: string, options: MergeErrorOptions = {}) {
    super(message, options);
    this.status = status;
    this.problems = problems;
  }
}

const API_ERROR_BY_STATUS: Readonly<Record<number, typeof MergeApiError>> = {
  400: MergeBadRequestError,
  401: MergeAuthenticationError,
  403: MergePermissionError,
  404: MergeNotFoundError,
  409: MergeConflictError,
  422: MergeUnprocessableError,
  429: MergeRateLimitError,
};

/** Builds the `MergeApiError` subclass that fits the status. */
export function apiErrorFor(init: MergeApiErrorInit): MergeApiError {
  const ErrorClass = API_ERROR_BY_STATUS[init.status] ?? (init.status >= 500 ? MergeServerError : MergeApiError);
  return new ErrorClass(init);
}

// HTTP/2 has no status text: name the statuses callers meet most (RFC 9110 §15).
const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function statusTextOf(init: MergeApiErrorInit): string {
  return init.statusText || REASON_PHRASES[init.status] || "Error";
}

function apiErrorMessage(init: MergeApiErrorInit): string {
  const head = `${init.status} ${statusTextOf(init)}: ${init.method} ${init.url}`;
  const detail = describeBody(init.body);
  return detail ? `${head}: ${detail}` : head;
}

/** The most telling line of an error body: Merge's `detail`, its first error, or the start of a text. */
function describeBody(body: unknown): string | undefined {
  if (typeof body === "string") {
    const text = body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    return text ? text.slice(0, 200) : undefined;
  }
  if (body === null || typeof body !== "object") return undefined;
  if ("detail" in body && typeof body.detail === "string") return body.detail;
  if ("errors" in body && Array.isArray(body.errors) && body.errors.length > 0) {
    const first: unknown = body.errors[0];
    if (typeof first === "string") return first;
    if (first !== null && typeof first === "object" && "detail" in first && typeof first.detail === "string") return first.detail;
  }
  return undefined;
}

function validationMessage(problems: readonly ValidationIssue[]): string {
  const shown = problems.slice(0, 5).map((p) => `${p.pointer || "/"}: ${p.message}`);
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
  return `Invalid request, nothing was sent: ${shown.join("; ")}${more}`;
}

/** Whether a caught value is any error of this client (`MergeError` and its subclasses): narrows `unknown`. */
export function isMergeError(error: unknown): error is MergeError {
  return error instanceof MergeError;
}
/** Whether a caught value is a `MergeReferenceError`: a reference of a draft matched no object, or several (`references` says which). */
export function isMergeReferenceError(error: unknown): error is MergeReferenceError {
  return error instanceof MergeReferenceError;
}
/** Whether a caught value is a `MergeApiError`: Merge answered outside 2xx (`status`, `body`); its subclasses name the status. */
export function isMergeApiError(error: unknown): error is MergeApiError {
  return error instanceof MergeApiError;
}
/** Whether a caught value is a `MergeValidationError`: the request broke the spec or the linked account's schema, and nothing was sent (`problems`, by JSON pointer). */
export function isMergeValidationError(error: unknown): error is MergeValidationError {
  return error instanceof MergeValidationError;
}
/** Whether a caught value is a `MergeConnectionError`: no answer came (DNS, refused, reset); a write may have happened. */
export function isMergeConnectionError(error: unknown): error is MergeConnectionError {
  return error instanceof MergeConnectionError;
}
/** Whether a caught value is a `MergeTimeoutError`: the call ran past `timeoutMs`; a write may have happened. */
export function isMergeTimeoutError(error: unknown): error is MergeTimeoutError {
  return error instanceof MergeTimeoutError;
}
