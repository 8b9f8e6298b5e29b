/**
 * One call through openapi-fetch, turned into the throwing style: the typed data on 2xx, a typed
 * `MergeError` otherwise. The decision is made on `response.ok`, never on openapi-fetch's `error`
 * field (it is `undefined` for an empty error body).
 */
import { apiErrorFor, MergeConnectionError, MergeError, MergeResponseValidationError } from "./errors.js";
import { redactBody, safeUrl, type Redactor } from "./secrets.js";

/** The `fetch` the client calls; openapi-fetch passes it a `Request`. */
export type FetchLike = (input: Request) => Promise<Response>;

/** What openapi-fetch resolves to. */
export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Facts about a call that errors report. */
export interface CallInfo {
  method: string;
  /** True for POST and PATCH: an error then says whether the write may have happened. */
  write: boolean;
  idempotencyKey?: string | undefined;
}

export interface Transport {
  fetch: FetchLike;
  redact: Redactor;
}

// By name, not `instanceof`: the error may come from another realm (a worker, a test VM).
function isNamed(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && "name" in error && error.name === name;
}

/**
 * Runs `send` (an openapi-fetch call given our tracking `fetch`) once and returns its data.
 * Tracking tells a failure before the response (nothing or something may have been stored) from a
 * failure while reading the body (the status is known).
 */
export async function callOnce<T>(
  transport: Transport,
  info: CallInfo,
  send: (fetch: FetchLike) => Promise<FetchResult<T>>,
): Promise<T> {
  let request: Request | undefined;
  let response: Response | undefined;
  const tracking: FetchLike = async (input) => {
    request = input;
    response = await transport.fetch(input);
    return response;
  };
  const base = { idempotencyKey: info.idempotencyKey };
  let result: FetchResult<T>;
  try {
    result = await send(tracking);
  } catch (cause) {
    if (cause instanceof MergeError || isNamed(cause, "AbortError")) throw cause;
    const url = safeUrl(request?.url ?? "", transport.redact);
    if (response === undefined) {
      throw new MergeConnectionError(
        transport.redact(`${info.method} ${url} failed before a response: ${describe(cause)}`),
        { ...base, cause, writeMayHaveHappened: info.write && request !== undefined },
      );
    }
    if (response.ok && isNamed(cause, "SyntaxError")) {
      throw new MergeResponseValidationError(
        response.status,
        [{ pointer: "", message: "the body is not valid JSON" }],
        `${response.status} ${response.statusText}: ${info.method} ${url}: the response body is not valid JSON`,
        { ...base, cause, writeMayHaveHappened: info.write },
      );
    }
    if (!response.ok) throw errorFromResponse(response, null, info, transport.redact, url);
    throw new MergeConnectionError(
      transport.redact(`${response.status} ${response.statusText}: ${info.method} ${url}: the body was cut short: ${describe(cause)}`),
      { ...base, cause, writeMayHaveHappened: info.write },
    );
  }
  const { response: final } = result;
  if (!final.ok) {
    throw errorFromResponse(final, result.error, info, transport.redact, safeUrl(final.url || request?.url || "", transport.redact));
  }
  if (result.data === undefined) {
    throw new MergeResponseValidationError(
      final.status,
      [{ pointer: "", message: "the body is empty" }],
      `${final.status} ${final.statusText}: ${info.method} ${safeUrl(final.url, transport.redact)}: the response body is empty`,
      { ...base, writeMayHaveHappened: info.write },
    );
  }
  return result.data;
}

function errorFromResponse(response: Response, error: unknown, info: CallInfo, redact: Redactor, url: string) {
  // openapi-fetch gives the parsed JSON, the raw text, '' or undefined for an empty body.
  const body = error === undefined || error === "" ? null : redactBody(error, redact);
  return apiErrorFor({
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    body,
    method: info.method,
    url,
    idempotencyKey: info.idempotencyKey,
    // A 5xx or 408 may come after the write was stored; other statuses mean it was refused.
    writeMayHaveHappened: info.write && (response.status >= 500 || response.status === 408),
  });
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? ` (${cause.cause.message})` : "";
    return `${cause.message}${inner}`;
  }
  return String(cause);
}
