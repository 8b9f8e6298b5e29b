/**
 * One call, end to end: validate the request, send it through openapi-fetch with a per-attempt
 * timeout, retry what is safe to retry, check the response. The outcome is the typed data on 2xx or a
 * typed `MergeError`; the decision is made on `response.ok`, never on openapi-fetch's `error` field
 * (it is `undefined` for an empty error body).
 */
import { onAbort, throwIfAborted } from "./abort.js";
import { sleep } from "../internal/sleep.js";
import {
  apiErrorFor,
  MergeConnectionError,
  MergeError,
  MergeResponseValidationError,
  MergeTimeoutError,
} from "./errors.js";
import { redactHeaders, type Logger } from "./logger.js";
import { isRetryable, retryDelay, type RetryPolicy, type RetrySettings } from "./retry.js";
import { createRedactor, redactBody, safeUrl, type Redactor } from "./secrets.js";
import {
  responseError,
  responseProblems,
  validateRequest,
  type OperationId,
  type RequestParts,
  type ResponseValidationMode,
} from "./validation/spec-validators.js";
import { messageOf } from "../internal/errors.js";

/** The `fetch` the client calls; openapi-fetch passes it a `Request`. */
export type FetchLike = (input: Request) => Promise<Response>;

/** What openapi-fetch resolves to. */
export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The client-wide settings every call starts from. */
export interface Settings extends RetrySettings {
  timeoutMs: number;
  validateRequests: boolean;
  strictRequests: boolean;
  validateResponses: ResponseValidationMode;
}

export interface Transport {
  fetch: FetchLike;
  redact: Redactor;
  logger: Logger;
  settings: Settings;
}

/** Per-call overrides of the settings. */
export interface CallOverrides {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  maxRetries?: number | undefined;
  onResponse?: ((response: ResponseInfo) => void) | undefined;
}

/** What `RequestOptions.onResponse` is told of the answer a call returns. */
export interface ResponseInfo {
  /** Its HTTP status (2xx: the call succeeded with it). */
  status: number;
  /** Its headers, such as `Date` (the server's clock) or `X-Request-Id`. */
  headers: Headers;
}

/** One call, as the resource methods describe it. */
export interface Call<T> {
  operation: OperationId;
  method: "GET" | "POST" | "PATCH";
  /** Errors of a write say whether it may have happened. */
  write: boolean;
  retry: RetryPolicy;
  idempotencyKey?: string | undefined;
  /** What validation checks (the same values `send` sends). */
  parts: RequestParts;
  overrides: CallOverrides;
  /** Checks run after the spec's validation and before the first attempt (the linked account's schema). */
  preflight?: (() => Promise<void>) | undefined;
  /** Sends one attempt through openapi-fetch with the given fetch and signal. */
  send: (fetch: FetchLike, signal: AbortSignal) => Promise<FetchResult<T>>;
}

// By name, not `instanceof`: the error may come from another realm (a worker, a test VM).
function isNamed(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && "name" in error && error.name === name;
}

/** Runs a call: validation, attempts, retries, response checking. */
export async function execute<T>(transport: Transport, call: Call<T>): Promise<T> {
  const { settings, logger } = transport;
  if (settings.validateRequests) validateRequest(call.operation, call.parts, settings.strictRequests, call.idempotencyKey);
  if (call.preflight) await call.preflight();
  const maxRetries = call.overrides.maxRetries ?? settings.maxRetries;
  for (let attempt = 1; ; attempt++) {
    // Nothing more is sent once the caller has aborted, not even a retry whose wait just ended.
    throwIfAborted(call.overrides.signal);
    try {
      return await attemptOnce(transport, call, attempt);
    } catch (error) {
      if (attempt > maxRetries || !isRetryable(error, call.retry)) throw error;
      const delay = retryDelay(error, attempt - 1, settings);
      logger.info?.(`retrying ${call.method} ${call.operation} in ${Math.round(delay)} ms (attempt ${attempt + 1} of ${maxRetries + 1})`, {
        reason: messageOf(error),
        idempotencyKey: call.idempotencyKey,
      });
      await sleep(delay, { signal: call.overrides.signal });
    }
  }
}

/**
 * The client's redactor, plus the account token this call was given (a client serving many linked
 * accounts holds none of its own): an error or a log line never shows it either.
 */
function withCallToken(redact: Redactor, header: object | undefined): Redactor {
  const token: unknown = header === undefined ? undefined : Reflect.get(header, "X-Account-Token");
  if (typeof token !== "string") return redact;
  const also = createRedactor([token]);
  return (text) => also(redact(text));
}

/** One attempt, with its own timeout combined with the caller's signal. */
async function attemptOnce<T>(transport: Transport, call: Call<T>, attempt: number): Promise<T> {
  const { logger, settings } = transport;
  const redact = withCallToken(transport.redact, call.parts.header);
  const timeoutMs = call.overrides.timeoutMs ?? settings.timeoutMs;
  const caller = call.overrides.signal;
  const controller = new AbortController();
  let timedOut = false;
  const unsubscribe = caller ? onAbort(caller, (reason) => controller.abort(reason)) : undefined;
  const timer =
    Number.isFinite(timeoutMs) && timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
        }, timeoutMs)
      : undefined;

  let request: Request | undefined;
  let response: Response | undefined;
  const started = Date.now();
  const tracking: FetchLike = async (input) => {
    request = input;
    if (logger.debug) logger.debug(`→ ${input.method} ${safeUrl(input.url, redact)} (attempt ${attempt})`, { headers: redactHeaders(input.headers) });
    response = await transport.fetch(input);
    logger.debug?.(`← ${response.status} ${input.method} ${safeUrl(input.url, redact)} in ${Date.now() - started} ms`);
    return response;
  };
  const base = { idempotencyKey: call.idempotencyKey };
  const where = () => `${call.method} ${safeUrl(request?.url ?? "", redact)}`;

  let result: FetchResult<T>;
  try {
    result = await call.send(tracking, controller.signal);
  } catch (cause) {
    if (cause instanceof MergeError) throw cause;
    if (timedOut) {
      throw new MergeTimeoutError(`${where()} timed out after ${timeoutMs} ms (timeoutMs)`, timeoutMs, {
        ...base,
        cause,
        writeMayHaveHappened: call.write && request !== undefined,
      });
    }
    if (caller?.aborted || isNamed(cause, "AbortError")) throw cause;
    const status = response ? `${response.status} ${response.statusText}: ` : "";
    if (response === undefined) {
      throw new MergeConnectionError(redact(`${where()} failed before a response: ${messageWithCause(cause)}`), {
        ...base,
        cause,
        writeMayHaveHappened: call.write && request !== undefined,
      });
    }
    if (response.ok && isNamed(cause, "SyntaxError")) {
      throw new MergeResponseValidationError(response.status, [{ pointer: "", message: "the body is not valid JSON" }], `${status}${where()}: the response body is not valid JSON`, {
        ...base,
        cause,
        writeMayHaveHappened: call.write,
      });
    }
    if (!response.ok) throw errorFromResponse(response, null, call, redact, safeUrl(request?.url ?? "", redact));
    throw new MergeConnectionError(redact(`${status}${where()}: the body was cut short: ${messageWithCause(cause)}`), {
      ...base,
      cause,
      writeMayHaveHappened: call.write,
    });
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }

  const final = result.response;
  if (!final.ok) throw errorFromResponse(final, result.error, call, redact, safeUrl(request?.url ?? final.url, redact));
  if (result.data === undefined) {
    throw new MergeResponseValidationError(final.status, [{ pointer: "", message: "the body is empty" }], `${final.status} ${final.statusText}: ${where()}: the response body is empty`, {
      ...base,
      writeMayHaveHappened: call.write,
    });
  }
  if (settings.validateResponses !== "off") {
    const problems = responseProblems(call.operation, final.status, result.data);
    if (problems.length > 0) {
      const error = responseError(final.status, problems, `${final.status} ${where()}`, { ...base, writeMayHaveHappened: call.write });
      if (settings.validateResponses === "strict") throw error;
      logger.warn?.(error.message, { problems });
    }
  }
  call.overrides.onResponse?.({ status: final.status, headers: final.headers });
  return result.data;
}

function errorFromResponse<T>(response: Response, error: unknown, call: Call<T>, redact: Redactor, url: string) {
  // openapi-fetch gives the parsed JSON, the raw text, '' or undefined for an empty body.
  const body = error === undefined || error === "" ? null : redactBody(error, redact);
  return apiErrorFor({
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    body,
    method: call.method,
    url,
    idempotencyKey: call.idempotencyKey,
    // A 5xx or 408 may come after the write was stored; other statuses mean it was refused.
    writeMayHaveHappened: call.write && (response.status >= 500 || response.status === 408),
  });
}

/** The error's message and its cause's: a socket error's cause says what the socket saw. */
function messageWithCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? ` (${cause.cause.message})` : "";
    return `${cause.message}${inner}`;
  }
  return String(cause);
}
