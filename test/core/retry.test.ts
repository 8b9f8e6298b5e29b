import { MergeApiError, MergeConnectionError, MergeRateLimitError, MergeTimeoutError, MergeValidationError } from "../../src/index.js";
import { parseRetryAfter } from "../../src/core/retry-after.js";
import { isRetryable, retryDelay } from "../../src/core/retry.js";
import { sleep } from "../../src/internal/sleep.js";

function apiError(status: number, headers: Record<string, string> = {}): MergeApiError {
  return new MergeApiError({ status, statusText: "", headers: new Headers(headers), body: null, method: "POST", url: "https://x" });
}

const SETTINGS = { maxRetries: 2, initialRetryDelayMs: 500, maxRetryDelayMs: 30_000 };

describe("isRetryable", () => {
  test.each([408, 429, 500, 502, 503, 504])("status %i is retried when idempotent", (status) => {
    expect(isRetryable(apiError(status), "idempotent")).toBe(true);
  });
  test.each([400, 401, 403, 404, 409, 422])("status %i is never retried", (status) => {
    expect(isRetryable(apiError(status), "idempotent")).toBe(false);
  });
  test("without an idempotency key only 429 is retried", () => {
    expect(isRetryable(apiError(429), "rate-limit-only")).toBe(true);
    for (const status of [408, 500, 503]) expect(isRetryable(apiError(status), "rate-limit-only")).toBe(false);
    expect(isRetryable(new MergeConnectionError("reset"), "rate-limit-only")).toBe(false);
    expect(isRetryable(new MergeTimeoutError("slow", 10), "rate-limit-only")).toBe(false);
  });
  test("connection errors and timeouts are retried when idempotent; validation errors never", () => {
    expect(isRetryable(new MergeConnectionError("reset"), "idempotent")).toBe(true);
    expect(isRetryable(new MergeTimeoutError("slow", 10), "idempotent")).toBe(true);
    expect(isRetryable(new MergeValidationError([]), "idempotent")).toBe(false);
    expect(isRetryable(new TypeError("x"), "idempotent")).toBe(false);
  });
});

describe("Retry-After", () => {
  test("seconds, fractions, HTTP dates, garbage", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("1.5", now)).toBe(1_500);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  test("MergeRateLimitError says how long to wait", () => {
    expect(new MergeRateLimitError({ status: 429, statusText: "", headers: new Headers({ "retry-after": "7" }), body: null, method: "GET", url: "https://x" }).retryAfterMs).toBe(7_000);
    expect(new MergeRateLimitError({ status: 429, statusText: "", headers: new Headers(), body: null, method: "GET", url: "https://x" }).retryAfterMs).toBeUndefined();
  });

  test("Retry-After wins over backoff and is capped", () => {
    expect(retryDelay(apiError(429, { "retry-after": "2" }), 0, SETTINGS)).toBe(2_000);
    expect(retryDelay(apiError(429, { "retry-after": "3600" }), 0, SETTINGS)).toBe(30_000);
  });

  test("backoff doubles per retry, half fixed and half random, capped", () => {
    const error = apiError(503);
    expect(retryDelay(error, 0, SETTINGS, () => 0)).toBe(250);
    expect(retryDelay(error, 0, SETTINGS, () => 1)).toBe(500);
    expect(retryDelay(error, 1, SETTINGS, () => 0)).toBe(500);
    expect(retryDelay(error, 2, SETTINGS, () => 1)).toBe(2_000);
    expect(retryDelay(error, 20, SETTINGS, () => 1)).toBe(30_000);
  });
});

test("sleep rejects with the signal's reason when aborted", async () => {
  const controller = new AbortController();
  const waiting = sleep(10_000, { signal: controller.signal });
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
});
