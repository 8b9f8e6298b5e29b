import { inspect } from "node:util";
import {
  createMergeCrmClient,
  MergeApiError,
  MergeAuthenticationError,
  MergeBadRequestError,
  MergeConnectionError,
  MergeError,
  MergeNotFoundError,
  MergeRateLimitError,
  MergeResponseValidationError,
  MergeServerError,
  isMergeApiError,
  type FetchLike,
} from "../../src/index.js";
import { CREATED, json, recordingFetch } from "./helpers.js";

const API_KEY = "sk_live_SECRET_KEY_123456";
const ACCOUNT_TOKEN = "acct_SECRET_TOKEN_654321";

function clientAnswering(answer: () => Response | Promise<Response>) {
  const rec = recordingFetch(answer);
  // Retries have their own tests (test/core/retry.test.ts, test/core/faults.test.ts): here one attempt shows the mapping.
  return createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: rec.fetch, maxRetries: 0 });
}

async function failure(promise: Promise<unknown>): Promise<MergeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MergeError) return error;
    throw new Error(`expected a MergeError, got ${inspect(error)}`);
  }
  throw new Error("expected the call to fail");
}

function expectNoSecrets(error: MergeError): void {
  for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 10 }), String(error.stack)]) {
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(ACCOUNT_TOKEN);
  }
}

describe("error mapping", () => {
  test("a JSON error body is parsed; the class follows the status", async () => {
    const merge = clientAnswering(() =>
      json(401, { detail: "Account Token must be passed in as an X-Account-Token header." }, { "x-request-id": "req-42" }),
    );
    const error = await failure(merge.engagements.create({ subject: "x" }));
    expect(error).toBeInstanceOf(MergeAuthenticationError);
    expect(isMergeApiError(error)).toBe(true);
    const api = error as MergeApiError;
    expect(api.status).toBe(401);
    expect(api.body).toEqual({ detail: "Account Token must be passed in as an X-Account-Token header." });
    expect(api.requestId).toBe("req-42");
    expect(api.method).toBe("POST");
    expect(api.url).toBe("https://api.merge.dev/api/crm/v1/engagements");
    expect(api.headers.get("content-type")).toBe("application/json");
    expect(api.message).toBe(
      "401 Unauthorized: POST https://api.merge.dev/api/crm/v1/engagements: Account Token must be passed in as an X-Account-Token header.",
    );
    expect(api.writeMayHaveHappened).toBe(false);
    expectNoSecrets(api);
  });

  test.each([
    [400, MergeBadRequestError],
    [404, MergeNotFoundError],
    [429, MergeRateLimitError],
    [500, MergeServerError],
    [503, MergeServerError],
    [418, MergeApiError],
  ])("status %i becomes %p", async (status, ErrorClass) => {
    const merge = clientAnswering(() => json(status, { errors: [{ title: "t", detail: "first problem", problem_type: "X" }] }));
    const error = await failure(merge.engagements.create({}));
    expect(error).toBeInstanceOf(ErrorClass);
    expect((error as MergeApiError).status).toBe(status);
    expect(error.message).toContain("first problem");
    expect(error.writeMayHaveHappened).toBe(status >= 500);
  });

  test("a text body is kept as text", async () => {
    const merge = clientAnswering(() => new Response("upstream exploded", { status: 500, statusText: "Internal Server Error" }));
    const error = (await failure(merge.engagements.create({}))) as MergeApiError;
    expect(error.body).toBe("upstream exploded");
    expect(error.message).toBe("500 Internal Server Error: POST https://api.merge.dev/api/crm/v1/engagements: upstream exploded");
  });

  test("an HTML error page is kept as text and summarized without tags", async () => {
    const html = "<html><head><title>502</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    const merge = clientAnswering(
      () => new Response(html, { status: 502, statusText: "Bad Gateway", headers: { "content-type": "text/html" } }),
    );
    const error = (await failure(merge.engagements.create({}))) as MergeApiError;
    expect(error).toBeInstanceOf(MergeServerError);
    expect(error.body).toBe(html);
    expect(error.message).toContain("502 Bad Gateway: POST");
    expect(error.message).not.toContain("<h1>");
  });

  test.each([
    ["Content-Length: 0", () => new Response(null, { status: 503, statusText: "Service Unavailable", headers: { "content-length": "0" } })],
    ["no length", () => new Response(null, { status: 503, statusText: "Service Unavailable" })],
    ["empty text", () => new Response("", { status: 503, statusText: "Service Unavailable" })],
  ])("an empty body (%s) gives body null, not a crash", async (_name, answer) => {
    const merge = clientAnswering(answer);
    const error = (await failure(merge.engagements.create({}))) as MergeApiError;
    expect(error).toBeInstanceOf(MergeServerError);
    expect(error.body).toBeNull();
    expect(error.message).toBe("503 Service Unavailable: POST https://api.merge.dev/api/crm/v1/engagements");
  });

  test("credentials echoed by the server are redacted from the message, the body and the serialized error", async () => {
    const merge = clientAnswering(() => json(401, { detail: `Invalid key ${API_KEY} for token ${ACCOUNT_TOKEN}` }));
    const error = (await failure(merge.engagements.create({}))) as MergeApiError;
    expect(error.message).toContain("Invalid key [REDACTED] for token [REDACTED]");
    expect(error.body).toEqual({ detail: "Invalid key [REDACTED] for token [REDACTED]" });
    expectNoSecrets(error);
  });

  test("a network failure becomes a MergeConnectionError that says the write may have happened", async () => {
    const fetch: FetchLike = async () => {
      throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
    };
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch, maxRetries: 0 });
    const error = await failure(merge.engagements.create({}, { idempotencyKey: "k-1" }));
    expect(error).toBeInstanceOf(MergeConnectionError);
    expect(error.message).toContain("ECONNRESET");
    expect(error.writeMayHaveHappened).toBe(true);
    expect(error.idempotencyKey).toBe("k-1");
    expectNoSecrets(error);
  });

  test("a 201 whose body is not JSON rejects with MergeResponseValidationError (the write happened)", async () => {
    const merge = clientAnswering(() => new Response('{"model": {"id": "5', { status: 201, headers: { "content-type": "application/json" } }));
    const error = await failure(merge.engagements.create({}));
    expect(error).toBeInstanceOf(MergeResponseValidationError);
    expect((error as MergeResponseValidationError).status).toBe(201);
    expect(error.writeMayHaveHappened).toBe(true);
  });

  test("a 201 with an empty body rejects with MergeResponseValidationError", async () => {
    const merge = clientAnswering(() => new Response(null, { status: 201 }));
    await expect(merge.engagements.create({})).rejects.toBeInstanceOf(MergeResponseValidationError);
  });

  test("the caller's abort rejects with the standard AbortError", async () => {
    const controller = new AbortController();
    controller.abort();
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: (request) => fetch(request) });
    await expect(merge.engagements.create({}, { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  });

  test("a successful answer resolves with the body", async () => {
    const merge = clientAnswering(() => json(201, CREATED));
    await expect(merge.engagements.create({})).resolves.toEqual(CREATED);
  });
});
