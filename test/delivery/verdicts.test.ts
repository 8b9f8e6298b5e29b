/** What each answer to a create means for a row, its pacer and the failure guard. */
import { backoff, classify, createdId, problemsOf } from "../../src/delivery/verdicts.js";
import {
  MergeAuthenticationError,
  MergeBadRequestError,
  MergeConnectionError,
  MergePermissionError,
  MergeRateLimitError,
  MergeResponseValidationError,
  MergeServerError,
  MergeApiError,
  MergeTimeoutError,
  MergeValidationError,
} from "../../src/index.js";

const init = (status: number, headers: Record<string, string> = {}) => ({
  status,
  statusText: "",
  headers: new Headers(headers),
  body: { detail: "no" },
  method: "POST",
  url: "https://api.merge.dev/api/crm/v1/engagements",
  writeMayHaveHappened: status >= 500,
});

test.each([
  ["a validation error (nothing sent)", new MergeValidationError([{ pointer: "/model/subject", message: "must be string" }]), "invalid", "neutral"],
  ["429", new MergeRateLimitError(init(429, { "retry-after": "3" })), "rate-limited", "neutral"],
  ["400", new MergeBadRequestError(init(400)), "rejected", "failure"],
  ["409", new MergeApiError(init(409)), "rejected", "failure"],
  ["401 (the key or token, not the row)", new MergeAuthenticationError(init(401)), "account", "failure"],
  ["403 (the account's permissions, not the row)", new MergePermissionError(init(403)), "account", "failure"],
  ["408", new MergeApiError(init(408)), "transient", "failure"],
  ["503", new MergeServerError(init(503)), "transient", "failure"],
  ["a reset connection", new MergeConnectionError("socket hang up", { writeMayHaveHappened: true }), "transient", "failure"],
  ["a timeout", new MergeTimeoutError("timed out", 100, { writeMayHaveHappened: true }), "transient", "failure"],
  ["a 201 whose body is not JSON", new MergeResponseValidationError(201, [], "not JSON"), "created", "success"],
  ["anything else", new TypeError("boom"), "fatal", "neutral"],
])("%s: %s, counted %s by the guard", (_name, error, kind, guard) => {
  const verdict = classify(error);
  expect(verdict.kind).toBe(kind);
  expect(verdict.guard).toBe(guard);
  // Whose failure it is: the account's health reads it.
  const owners: Record<string, string | undefined> = { account: "account", rejected: "row", transient: "transient" };
  expect(verdict.owner).toBe(owners[kind]);
});

test("a 429 carries Retry-After in ms; errors carry name, message, status and writeMayHaveHappened (true unless said otherwise)", () => {
  const limited = classify(new MergeRateLimitError(init(429, { "retry-after": "3" })));
  expect(limited.kind === "rate-limited" && limited.retryAfterMs).toBe(3_000);
  const server = classify(new MergeServerError(init(503)));
  expect(server.kind === "transient" && server.error).toMatchObject({ name: "MergeServerError", status: 503, writeMayHaveHappened: true });
  expect(server.detail).toBe("503 Service Unavailable");
  expect(server.kind === "transient" && server.retryAfterMs).toBeUndefined();
  const later = classify(new MergeServerError(init(503, { "retry-after": "2" })));
  expect(later.kind === "transient" && later.retryAfterMs).toBe(2_000);
  const capped = classify(new MergeServerError(init(503, { "retry-after": "3600" })));
  expect(capped.kind === "transient" && capped.retryAfterMs).toBe(30_000);
  const unknown = classify("a string");
  expect(unknown.kind === "fatal" && unknown.error).toEqual({ name: "Error", message: "a string", writeMayHaveHappened: true });
});

test("problems are read by name (another copy of the core would fail instanceof); ids from the body or null; backoff doubles with jitter up to 30 s", () => {
  expect(problemsOf({ name: "MergeValidationError", problems: [{ pointer: "/a", message: "m" }, { bad: 1 }] })).toEqual([{ pointer: "/a", message: "m" }]);
  expect(problemsOf(new Error("x"))).toBeUndefined();
  expect(createdId({ model: { id: "abc" } })).toBe("abc");
  expect(createdId({ model: {} })).toBeNull();
  expect(createdId(null)).toBeNull();
  for (let attempt = 1; attempt <= 10; attempt++) {
    const base = Math.min(30_000, 500 * 2 ** (attempt - 1));
    const wait = backoff(attempt);
    expect(wait).toBeGreaterThanOrEqual(base / 2);
    expect(wait).toBeLessThanOrEqual(base);
  }
});
