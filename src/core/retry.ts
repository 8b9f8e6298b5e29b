/**
 * When to retry and how long to wait. A retry must never turn one write into two:
 * - reads and PATCH (idempotent) retry on connection errors, timeouts, 408, 429 and 5xx;
 * - a POST retries on those only with an Idempotency-Key (Merge replays the stored answer to a
 *   repeated key); without one it retries only on 429, which Merge sends before doing anything.
 * Other 4xx are never retried: Merge's global limit punishes repeated failing requests.
 */
import { MergeApiError, MergeConnectionError, MergeRateLimitError } from "./errors.js";
import { parseRetryAfter } from "./retry-after.js";

/** Which statuses and failures a call may retry. */
export type RetryPolicy = "idempotent" | "rate-limit-only";

/** Retry settings. */
export interface RetrySettings {
  maxRetries: number;
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
}

export function isRetryable(error: unknown, policy: RetryPolicy): boolean {
  if (error instanceof MergeApiError) {
    if (error.status === 429) return true;
    return policy === "idempotent" && (error.status === 408 || error.status >= 500);
  }
  return policy === "idempotent" && error instanceof MergeConnectionError;
}

/**
 * The wait before retry number `retry` (0 for the first): the server's `Retry-After` when it gave one,
 * else exponential backoff with jitter (half fixed, half random); capped by `maxRetryDelayMs` either way.
 */
export function retryDelay(error: unknown, retry: number, settings: RetrySettings, random = Math.random): number {
  const retryAfter =
    error instanceof MergeRateLimitError ? error.retryAfterMs : error instanceof MergeApiError ? parseRetryAfter(error.headers.get("retry-after")) : undefined;
  const base = retryAfter ?? settings.initialRetryDelayMs * 2 ** retry * (0.5 + random() / 2);
  return Math.min(Math.max(0, base), settings.maxRetryDelayMs);
}

