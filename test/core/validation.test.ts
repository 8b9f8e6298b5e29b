import { inspect } from "node:util";
import {
  createMergeCrmClient,
  MergeResponseValidationError,
  MergeTimeoutError,
  MergeValidationError,
  type ClientOptions,
  type EngagementRequest,
  type Logger,
} from "../../src/index.js";
import { CREATED, json, recordingFetch, type RecordedRequest } from "./helpers.js";

const API_KEY = "sk_live_VALIDATION_KEY_0001";
const ACCOUNT_TOKEN = "acct_VALIDATION_TOKEN_0002";

function recordingLogger() {
  const lines: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, details?: Record<string, unknown>): void => {
      lines.push(details ? { level, message, details } : { level, message });
    };
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

function client(answer: (r: RecordedRequest) => Response, options: Partial<ClientOptions> = {}) {
  const rec = recordingFetch(answer);
  const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: rec.fetch, maxRetries: 0, ...options });
  return { merge, requests: rec.requests };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("request validation, before anything is sent", () => {
  test("every problem is listed with its JSON pointer, in Merge's ValidationProblem style", async () => {
    const { merge, requests } = client(() => json(201, CREATED));
    const bad = {
      direction: "SIDEWAYS",
      owner: "not-a-uuid",
      start_time: "2024-02-30T10:00:00Z",
      contacts: ["a7c55bc6-2940-c80a-848e-bbfacbfdf4f0", 42],
      engagement_url: "not a url",
      remote_fields: [{ value: 1 }],
    } as unknown as EngagementRequest;
    const error = await rejection(merge.engagements.create(bad, { idempotencyKey: "key-v-1" }));
    expect(error).toBeInstanceOf(MergeValidationError);
    const problems = (error as MergeValidationError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        { pointer: "/model/direction", message: "must be equal to one of the allowed values: INBOUND, OUTBOUND, or must be null" },
        { pointer: "/model/owner", message: 'must match format "uuid"' },
        { pointer: "/model/start_time", message: 'must match format "date-time"' },
        { pointer: "/model/contacts/1", message: "must be string" },
        { pointer: "/model/engagement_url", message: 'must match format "uri"' },
        { pointer: "/model/remote_fields/0/remote_field_class", message: "must have required property 'remote_field_class'" },
      ]),
    );
    expect(problems).toHaveLength(6);
    expect((error as MergeValidationError).message).toMatch(/^Invalid request, nothing was sent: \/model\/direction/);
    expect((error as MergeValidationError).idempotencyKey).toBe("key-v-1");
    expect((error as MergeValidationError).writeMayHaveHappened).toBe(false);
    expect(requests).toHaveLength(0);
  });

  test("query and path parameters are checked too", async () => {
    const { merge, requests } = client(() => json(200, {}));
    const error = await rejection(
      merge.engagements.list({ page_size: 0, expand: ["owner", "owner", "manager" as "owner"] }),
    );
    expect((error as MergeValidationError).problems).toEqual(
      expect.arrayContaining([
        { pointer: "/query/page_size", message: "must be >= 1" },
        { pointer: "/query/expand/2", message: "must be equal to one of the allowed values: account, contacts, engagement_type, owner" },
        { pointer: "/query/expand", message: "must NOT have duplicate items (items ## 0 and 1 are identical)" },
      ]),
    );
    expect(requests).toHaveLength(0);
  });

  test("fields the spec does not know are sent as given, unless strictRequests", async () => {
    const withExtra = { subject: "x", custom_priority: "high" } as EngagementRequest;
    const loose = client(() => json(201, CREATED));
    await loose.merge.engagements.create(withExtra);
    expect(JSON.parse(loose.requests[0]?.body ?? "{}")).toEqual({ model: { subject: "x", custom_priority: "high" } });

    const strict = client(() => json(201, CREATED), { strictRequests: true });
    const error = await rejection(strict.merge.engagements.create(withExtra));
    expect((error as MergeValidationError).problems).toEqual([{ pointer: "/model/custom_priority", message: "is not a field the spec knows" }]);
    expect(strict.requests).toHaveLength(0);
  });

  test("validateRequests: false sends whatever it is given", async () => {
    const { merge, requests } = client(() => json(201, CREATED), { validateRequests: false });
    await merge.engagements.create({ direction: "SIDEWAYS" } as unknown as EngagementRequest);
    expect(requests).toHaveLength(1);
  });

  test("undefined fields are absent, null fields are checked as null", async () => {
    const { merge } = client(() => json(201, CREATED));
    const model = { subject: undefined, owner: null, direction: null } as unknown as EngagementRequest;
    await expect(merge.engagements.create(model)).resolves.toEqual(CREATED);
  });
});

describe("response validation", () => {
  const drifted = { model: { id: "550e8400-e29b-41d4-a716-446655440000", remote_was_deleted: "yes" }, warnings: [], errors: [] };

  test('"warn" (the default) reports a mismatch to the logger and resolves', async () => {
    const { logger, lines } = recordingLogger();
    const { merge } = client(() => json(201, drifted), { logger });
    await expect(merge.engagements.create({})).resolves.toEqual(drifted);
    const warning = lines.find((l) => l.level === "warn");
    expect(warning?.message).toContain("/model/remote_was_deleted: must be boolean");
  });

  test('"strict" rejects with MergeResponseValidationError, which says the write happened', async () => {
    const { merge } = client(() => json(201, drifted), { validateResponses: "strict" });
    const error = await rejection(merge.engagements.create({}));
    expect(error).toBeInstanceOf(MergeResponseValidationError);
    expect((error as MergeResponseValidationError).problems).toEqual([{ pointer: "/model/remote_was_deleted", message: "must be boolean" }]);
    expect((error as MergeResponseValidationError).writeMayHaveHappened).toBe(true);
  });

  test('"off" does not look', async () => {
    const { logger, lines } = recordingLogger();
    const { merge } = client(() => json(201, drifted), { validateResponses: "off", logger });
    await merge.engagements.create({});
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(0);
  });

  test("unknown fields and unknown enum values never fail, even in strict mode", async () => {
    const newer = {
      model: { id: "550e8400-e29b-41d4-a716-446655440000", direction: "INTERNAL", brand_new_field: { a: 1 } },
      warnings: [{ title: "t", detail: "d", problem_type: "SOMETHING_NEW", extra: true }],
      errors: [],
      debug_extra: 1,
    };
    const { merge } = client(() => json(201, newer), { validateResponses: "strict" });
    await expect(merge.engagements.create({})).resolves.toEqual(newer);
  });
});

describe("secrets and hostile input", () => {
  test("debug logging shows requests with credential headers redacted", async () => {
    const { logger, lines } = recordingLogger();
    const { merge } = client(() => json(201, CREATED), { logger });
    await merge.engagements.create({ subject: "x" });
    const request = lines.find((l) => l.level === "debug" && l.message.startsWith("→ POST"));
    expect(request?.details?.["headers"]).toMatchObject({ authorization: "[REDACTED]", "x-account-token": "[REDACTED]" });
    const everything = JSON.stringify(lines);
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(ACCOUNT_TOKEN);
  });

  test("retries are logged without secrets", async () => {
    const { logger, lines } = recordingLogger();
    let n = 0;
    const { merge } = client(() => (n++ === 0 ? json(503, { detail: `bad ${API_KEY}` }) : json(201, CREATED)), {
      logger,
      maxRetries: 1,
      initialRetryDelayMs: 1,
    });
    await merge.engagements.create({});
    expect(lines.some((l) => l.level === "info" && l.message.startsWith("retrying POST"))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(API_KEY);
  });

  test("a per-call account token with CR/LF is refused before sending", async () => {
    const { merge, requests } = client(() => json(201, CREATED));
    const error = await rejection(merge.engagements.create({}, { accountToken: "tok\r\nX-Injected: 1" }));
    expect((error as MergeValidationError).problems[0]?.pointer).toBe("/header/X-Account-Token");
    expect(requests).toHaveLength(0);
  });

  test("an idempotency key with invalid header characters is refused", async () => {
    const { merge } = client(() => json(201, CREATED));
    await expect(merge.engagements.create({}, { idempotencyKey: "k\n1" })).rejects.toBeInstanceOf(MergeValidationError);
  });

  test("timeouts and connection errors never carry the credentials", async () => {
    const merge = createMergeCrmClient({
      apiKey: API_KEY,
      accountToken: ACCOUNT_TOKEN,
      maxRetries: 0,
      timeoutMs: 20,
      fetch: (request) =>
        new Promise<Response>((_resolve, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        }),
    });
    const error = await rejection(merge.engagements.create({}));
    expect(error).toBeInstanceOf(MergeTimeoutError);
    for (const text of [JSON.stringify(error), inspect(error, { depth: 10 }), String(error)]) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(ACCOUNT_TOKEN);
    }
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ name: "MergeTimeoutError", timeoutMs: 20, writeMayHaveHappened: true });
  });

  test("the client object does not expose the credentials", () => {
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN });
    const shown = inspect(merge, { depth: 10, showHidden: true });
    expect(shown).not.toContain(API_KEY);
    expect(shown).not.toContain(ACCOUNT_TOKEN);
  });

  test("__proto__ keys in field_mappings and remote_data cannot pollute prototypes", async () => {
    const body =
      '{"model":{"id":"550e8400-e29b-41d4-a716-446655440000",' +
      '"field_mappings":{"__proto__":{"polluted":"yes"},"organization_defined_targets":{"__proto__":{"polluted":"yes"}}},' +
      '"remote_data":[{"path":"/x","data":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}]},' +
      '"warnings":[],"errors":[]}';
    const { merge } = client(() => new Response(body, { status: 201, headers: { "content-type": "application/json" } }), {
      validateResponses: "strict",
    });
    const result = await merge.engagements.create({});
    const probe: Record<string, unknown> = {};
    expect(probe["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    // The data is kept as data: an own key named "__proto__", not a prototype.
    expect(Object.getOwnPropertyNames(result.model.field_mappings ?? {})).toContain("__proto__");
  });
});
