import { readFileSync } from "node:fs";
import {
  createMergeCrmClient,
  MergeValidationError,
  REGION_BASE_URLS,
  type EngagementRequest,
} from "../../src/index.js";
import { CREATED, json, recordingFetch } from "./helpers.js";

const API_KEY = "sk_test_0123456789abcdef";
const ACCOUNT_TOKEN = "acct_tok_fedcba9876543210";

describe("createMergeCrmClient: requests", () => {
  test("sends the bearer key, the account token, JSON content type and the body in `model`", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: rec.fetch });
    const result = await merge.engagements.create({ subject: "Call from customer", direction: "INBOUND" });

    expect(result).toEqual(CREATED);
    expect(rec.requests).toHaveLength(1);
    const [req] = rec.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url.toString()).toBe("https://api.merge.dev/api/crm/v1/engagements");
    expect(req?.headers.get("authorization")).toBe(`Bearer ${API_KEY}`);
    expect(req?.headers.get("x-account-token")).toBe(ACCOUNT_TOKEN);
    expect(req?.headers.get("content-type")).toBe("application/json");
    // create sends a fresh UUIDv4 idempotency key by default
    expect(req?.headers.get("idempotency-key")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(req?.body ?? "")).toEqual({ model: { subject: "Call from customer", direction: "INBOUND" } });
  });

  test("sends the caller's idempotency key, a new one per call by default, none with false; query flags when given", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: rec.fetch });
    await merge.engagements.create({}, { idempotencyKey: "key-1", isDebugMode: true, runAsync: false });
    await merge.engagements.create({});
    await merge.engagements.create({});
    await merge.engagements.create({}, { idempotencyKey: false });

    const keys = rec.requests.map((r) => r.headers.get("idempotency-key"));
    expect(keys[0]).toBe("key-1");
    expect(keys[1]).toEqual(expect.any(String));
    expect(keys[2]).toEqual(expect.any(String));
    expect(keys[1]).not.toBe(keys[2]);
    expect(keys[3]).toBeNull();
    expect(rec.requests[0]?.url.search).toBe("?is_debug_mode=true&run_async=false");
    expect(rec.requests[1]?.url.search).toBe("");
  });

  test("sends null as null and leaves undefined keys out", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: rec.fetch });
    // Users without `exactOptionalPropertyTypes` may set a key to undefined; it must not be sent.
    const model = { owner: null, direction: null, content: "notes", subject: undefined };
    await merge.engagements.create(model as unknown as EngagementRequest);
    expect(rec.requests[0]?.body).toBe('{"model":{"owner":null,"direction":null,"content":"notes"}}');
  });

  test("a per-call account token overrides the client's, and a client without one needs it per call", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const bound = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, fetch: rec.fetch });
    await bound.engagements.create({}, { accountToken: "other-token" });
    const perCall = createMergeCrmClient({ apiKey: API_KEY, fetch: rec.fetch });
    await perCall.engagements.create({}, { accountToken: "third-token" });

    expect(rec.requests.map((r) => r.headers.get("x-account-token"))).toEqual(["other-token", "third-token"]);
  });

  test("extra headers are sent but cannot replace the credentials", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({
      apiKey: API_KEY,
      accountToken: ACCOUNT_TOKEN,
      fetch: rec.fetch,
      headers: { "X-Trace": "client", Authorization: "Bearer stolen" },
    });
    await merge.engagements.create({}, { headers: { "X-Call": "call", "X-Account-Token": "nope" } });
    const headers = rec.requests[0]?.headers;
    expect(headers?.get("x-trace")).toBe("client");
    expect(headers?.get("x-call")).toBe("call");
    expect(headers?.get("authorization")).toBe(`Bearer ${API_KEY}`);
    expect(headers?.get("x-account-token")).toBe(ACCOUNT_TOKEN);
  });
});

describe("createMergeCrmClient: base URL", () => {
  test.each([
    ["us", "https://api.merge.dev/api"],
    ["eu", "https://api-eu.merge.dev/api"],
    ["apac", "https://api-ap.merge.dev/api"],
    ["sandbox", "https://api-sandbox.merge.dev/api"],
  ] as const)("region %s posts to %s", async (region, base) => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, region, fetch: rec.fetch });
    await merge.engagements.create({});
    expect(merge.baseUrl).toBe(base);
    expect(rec.requests[0]?.url.toString()).toBe(`${base}/crm/v1/engagements`);
  });

  test("the regions are exactly the spec's servers", () => {
    const spec = JSON.parse(readFileSync(new URL("../../generated/openapi.json", import.meta.url), "utf8")) as {
      servers: { url: string }[];
    };
    expect(Object.values(REGION_BASE_URLS).sort()).toEqual(spec.servers.map((s) => s.url).sort());
  });

  test("baseUrl overrides the region; a trailing slash is dropped", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({
      apiKey: API_KEY,
      accountToken: ACCOUNT_TOKEN,
      region: "eu",
      baseUrl: "http://127.0.0.1:4010/",
      fetch: rec.fetch,
    });
    await merge.engagements.create({});
    expect(rec.requests[0]?.url.toString()).toBe("http://127.0.0.1:4010/crm/v1/engagements");
  });

  test.each([
    ["http://api.example.com", "/baseUrl"],
    ["not a url", "/baseUrl"],
    ["https://user:pw@api.example.com", "/baseUrl"],
  ])("refuses baseUrl %s", (baseUrl, pointer) => {
    expect(() => createMergeCrmClient({ apiKey: API_KEY, baseUrl })).toThrow(MergeValidationError);
    try {
      createMergeCrmClient({ apiKey: API_KEY, baseUrl });
    } catch (error) {
      expect((error as MergeValidationError).problems[0]?.pointer).toBe(pointer);
    }
  });

  test("refuses an unknown region", () => {
    const region = "mars" as "us";
    expect(() => createMergeCrmClient({ apiKey: API_KEY, region })).toThrow(/\/region/);
  });
});

describe("createMergeCrmClient: credentials are checked before sending", () => {
  test.each([
    [{ apiKey: "" }, "/apiKey"],
    [{ apiKey: "key\r\nX-Evil: 1" }, "/apiKey"],
    [{ apiKey: API_KEY, accountToken: "tok\nen" }, "/accountToken"],
  ])("refuses %j at %s", (options, pointer) => {
    let caught: unknown;
    try {
      createMergeCrmClient(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MergeValidationError);
    expect((caught as MergeValidationError).problems.map((p) => p.pointer)).toEqual([pointer]);
  });

  test("a call without any account token rejects with a validation error and sends nothing", async () => {
    const rec = recordingFetch(() => json(201, CREATED));
    const merge = createMergeCrmClient({ apiKey: API_KEY, fetch: rec.fetch });
    // The types require the token per call on this client; a JavaScript caller can still forget it.
    const forgetful = merge.engagements.create as (model: EngagementRequest) => Promise<unknown>;
    await expect(forgetful({})).rejects.toMatchObject({
      name: "MergeValidationError",
      problems: [{ pointer: "/header/X-Account-Token" }],
    });
    expect(rec.requests).toHaveLength(0);
  });
});
