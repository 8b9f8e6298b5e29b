/**
 * Account-aware writes (issue 10) against a real local HTTP server that serves meta/post and counts
 * every request: one meta request per linked account however many creates, refusals by pointer with
 * nothing sent, meta failures that let the write through with one warning, a linked account that
 * cannot write, the TTL, and describeCreate.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createMergeCrmClient, MergeValidationError, type ClientOptions, type Logger } from "../../src/index.js";
import { listenOnLoopback, type Loopback } from "../support/loopback.js";

/** A CRM that requires a subject, an engagement type, an outbound direction and the activity owner's email. */
const REQUEST_SCHEMA = {
  type: "object",
  properties: {
    model: {
      type: "object",
      properties: {
        subject: { type: "string", description: "Shown as the activity title" },
        direction: { type: "string", enum: ["OUTBOUND"] },
        engagement_type: { type: "string", format: "uuid" },
        start_time: { type: "string", format: "date-time" },
        linked_account_params: {
          type: "object",
          properties: { activity_owner_email: { type: "string", description: "The CRM user who owns the activity" } },
          required: ["activity_owner_email"],
        },
      },
      required: ["subject", "engagement_type", "linked_account_params"],
    },
  },
  required: ["model"],
};
const META = {
  request_schema: REQUEST_SCHEMA,
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: true,
};
const VALID = {
  subject: "Call",
  direction: "OUTBOUND" as const,
  engagement_type: "0958cbc6-6040-430a-848e-aafacbadf4ae",
  linked_account_params: { activity_owner_email: "owner@example.com" },
};
const { engagement_type: _required, ...WITHOUT_TYPE } = VALID;
const CREATED = { model: { id: "550e8400-e29b-41d4-a716-446655440000", subject: "Call" }, warnings: [], errors: [] };

type MetaAnswer = { status: number; body: string; delayMs?: number };
let meta: MetaAnswer;
let metaRequests: string[] = [];
let posts: string[] = [];
let server: Loopback;
let baseUrl = "";

function answer(response: ServerResponse, status: number, body: string) {
  if (response.destroyed) return;
  response.writeHead(status, { "content-type": "application/json" });
  response.end(body);
}

async function handle(request: IncomingMessage, response: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const token = String(request.headers["x-account-token"]);
  if (request.method === "GET" && request.url === "/crm/v1/engagements/meta/post") {
    metaRequests.push(token);
    const { status, body, delayMs } = meta;
    if (delayMs) setTimeout(() => answer(response, status, body), delayMs);
    else answer(response, status, body);
    return;
  }
  if (request.method === "POST" && request.url === "/crm/v1/engagements") {
    posts.push(Buffer.concat(chunks).toString("utf8"));
    return answer(response, 201, JSON.stringify(CREATED));
  }
  answer(response, 404, JSON.stringify({ detail: "not found" }));
}

beforeAll(async () => {
  server = await listenOnLoopback(createServer((request, response) => void handle(request, response)));
  baseUrl = server.url;
});
afterAll(() => server.stop());

beforeEach(() => {
  meta = { status: 200, body: JSON.stringify(META) };
  metaRequests = [];
  posts = [];
});

/** A logger that keeps what it is told. */
function recordingLogger() {
  const lines: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, details?: Record<string, unknown>) => void lines.push({ level, message, ...(details ? { details } : {}) });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines, warnings: () => lines.filter((l) => l.level === "warn") };
}

function client(options: Partial<ClientOptions> = {}) {
  return createMergeCrmClient({ apiKey: "sk_account_key", baseUrl, accountValidation: "strict", ...options });
}

test("50 concurrent creates for a new linked account send exactly 1 meta request, then 50 POSTs", async () => {
  const merge = client();
  await Promise.all(Array.from({ length: 50 }, () => merge.engagements.create(VALID, { accountToken: "acct_new_one" })));
  expect(metaRequests).toEqual(["acct_new_one"]);
  expect(posts).toHaveLength(50);
  // A second linked account gets its own schema.
  await merge.engagements.create(VALID, { accountToken: "acct_new_two" });
  expect(metaRequests).toEqual(["acct_new_one", "acct_new_two"]);
});

test.each([
  ["a missing required field", WITHOUT_TYPE, "/model/engagement_type", /required property 'engagement_type'/],
  [
    "a nested requirement",
    { ...VALID, linked_account_params: { other: 1 } },
    "/model/linked_account_params/activity_owner_email",
    /required property 'activity_owner_email'/,
  ],
  ["an enum narrower than the spec's", { ...VALID, direction: "INBOUND" as const }, "/model/direction", /OUTBOUND/],
])("strict: %s is refused with its pointer, and no POST is sent", async (_name, model, pointer, message) => {
  const refused = client().engagements.create(model, { accountToken: "acct_strict" });
  await expect(refused).rejects.toBeInstanceOf(MergeValidationError);
  const error = (await refused.catch((e: unknown) => e)) as MergeValidationError;
  expect(error.problems).toEqual([{ pointer, message: expect.stringMatching(message) }]);
  expect(error.problems[0]?.message).toMatch(/linked account's CRM.*not by the spec/);
  expect(error.writeMayHaveHappened).toBe(false);
  expect(posts).toHaveLength(0);
});

test("a valid body is sent once; a body the spec refuses costs no meta request", async () => {
  const merge = client();
  await merge.engagements.create(VALID, { accountToken: "acct_valid" });
  expect(posts.map((p) => JSON.parse(p))).toEqual([{ model: VALID }]);
  await expect(merge.engagements.create({ ...VALID, direction: 7 } as never, { accountToken: "acct_other" })).rejects.toMatchObject({
    problems: [{ pointer: "/model/direction" }],
  });
  expect(metaRequests).toEqual(["acct_valid"]);
});

test("warn: a mismatch is reported to logger.warn and the create is sent", async () => {
  const { logger, warnings } = recordingLogger();
  const merge = client({ accountValidation: "warn", logger });
  await merge.engagements.create({ subject: "Call" }, { accountToken: "acct_warn" });
  expect(posts).toHaveLength(1);
  expect(warnings()).toHaveLength(1);
  expect(warnings()[0]?.message).toMatch(/\/model\/engagement_type.*sent anyway/s);
  expect(JSON.stringify(warnings())).not.toContain("acct_warn");
});

test("off: no meta request at all", async () => {
  await client({ accountValidation: "off" }).engagements.create({ subject: "Call" }, { accountToken: "acct_off" });
  expect(metaRequests).toHaveLength(0);
  expect(posts).toHaveLength(1);
});

test("the TTL expires: the schema is fetched again", async () => {
  const merge = client({ accountSchemaTtlMs: 150 });
  await merge.engagements.create(VALID, { accountToken: "acct_ttl" });
  await merge.engagements.create(VALID, { accountToken: "acct_ttl" });
  expect(metaRequests).toHaveLength(1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await merge.engagements.create(VALID, { accountToken: "acct_ttl" });
  expect(metaRequests).toHaveLength(2);
});

test.each([
  ["a meta 500", { status: 500, body: JSON.stringify({ detail: "boom" }) }, {}, /MergeServerError/],
  ["a meta timeout", { status: 200, body: JSON.stringify(META), delayMs: 1_000 }, { timeoutMs: 200 }, /MergeTimeoutError/],
  ["a meta 403", { status: 403, body: JSON.stringify({ detail: "no" }) }, {}, /MergePermissionError/],
  ["meta that is not JSON", { status: 200, body: "<html>" }, {}, /MergeResponseValidationError/],
  ["a request_schema the validator cannot read", { status: 200, body: JSON.stringify({ ...META, request_schema: { $ref: "#/nowhere" } }) }, {}, /request_schema cannot be used/],
] as const)("%s lets the writes through, checked against the spec only, with one warning and no meta request per write", async (_name, answer, options, reported) => {
  meta = answer;
  const { logger, warnings } = recordingLogger();
  const merge = client({ logger, validateResponses: "off", ...options });
  for (let i = 0; i < 5; i++) await merge.engagements.create({ subject: `not what the CRM needs ${i}` }, { accountToken: "acct_meta_trouble" });
  expect(posts).toHaveLength(5);
  expect(metaRequests).toHaveLength(1);
  expect(warnings()).toHaveLength(1);
  expect(warnings()[0]?.message).toMatch(reported);
  expect(warnings()[0]?.message).toMatch(/checked against the spec only until it is retried in 5 s/);
  expect(JSON.stringify(warnings())).not.toContain("acct_meta_trouble");
  expect(JSON.stringify(warnings())).not.toContain("sk_account_key");
});

test("can_make_request false: strict refuses before sending, naming the status; warn reports and sends", async () => {
  meta = { status: 200, body: JSON.stringify({ ...META, status: { linked_account_status: "RELINK_NEEDED", can_make_request: false } }) };
  const refused = client().engagements.create(VALID, { accountToken: "acct_relink" });
  await expect(refused).rejects.toBeInstanceOf(MergeValidationError);
  await expect(refused).rejects.toThrow(/RELINK_NEEDED/);
  expect(posts).toHaveLength(0);

  const { logger, warnings } = recordingLogger();
  await client({ accountValidation: "warn", logger }).engagements.create(VALID, { accountToken: "acct_relink" });
  expect(posts).toHaveLength(1);
  expect(warnings()[0]?.message).toMatch(/RELINK_NEEDED/);
});

test("describeCreate lists every field, flattened, from the shared cache", async () => {
  const merge = client();
  const description = await merge.engagements.describeCreate({ accountToken: "acct_describe" });
  expect(description.canMakeRequest).toBe(true);
  expect(description.linkedAccountStatus).toBe("COMPLETE");
  expect(description.schema).toEqual(REQUEST_SCHEMA);
  expect(description.fields).toEqual([
    { pointer: "/model", required: true, types: ["object"] },
    { pointer: "/model/subject", required: true, types: ["string"], description: "Shown as the activity title" },
    { pointer: "/model/direction", required: false, types: ["string"], enum: ["OUTBOUND"] },
    { pointer: "/model/engagement_type", required: true, types: ["string"], format: "uuid" },
    { pointer: "/model/start_time", required: false, types: ["string"], format: "date-time" },
    { pointer: "/model/linked_account_params", required: true, types: ["object"] },
    {
      pointer: "/model/linked_account_params/activity_owner_email",
      required: true,
      types: ["string"],
      description: "The CRM user who owns the activity",
    },
  ]);
  await merge.engagements.create(VALID, { accountToken: "acct_describe" });
  expect(metaRequests).toHaveLength(1);
});

test("describeCreate rejects with the typed error of a failed meta request", async () => {
  meta = { status: 401, body: JSON.stringify({ detail: "Invalid account token" }) };
  const { logger } = recordingLogger();
  await expect(client({ logger }).engagements.describeCreate({ accountToken: "acct_bad" })).rejects.toMatchObject({ name: "MergeAuthenticationError", status: 401 });
});

test("a caller's abort ends its wait for the meta request, which goes on for the others", async () => {
  meta = { status: 200, body: JSON.stringify(META), delayMs: 300 };
  const merge = client();
  const controller = new AbortController();
  const aborted = merge.engagements.create(VALID, { accountToken: "acct_abort", signal: controller.signal });
  const other = merge.engagements.create(VALID, { accountToken: "acct_abort" });
  setTimeout(() => controller.abort(), 50);
  await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
  await expect(other).resolves.toMatchObject({ model: { id: CREATED.model.id } });
  expect(metaRequests).toHaveLength(1);
  expect(posts).toHaveLength(1);
});

test("validateCreate: the spec's and the linked account's problems, nothing sent", async () => {
  const merge = client({ accountValidation: "warn" });
  expect(await merge.engagements.validateCreate(VALID, { accountToken: "acct_validate" })).toEqual([]);
  expect(await merge.engagements.validateCreate({ subject: "x", direction: "SIDEWAYS" as never }, { accountToken: "acct_validate" })).toEqual([
    { pointer: "/model/direction", message: expect.stringMatching(/allowed values/) },
  ]);
  const problems = await merge.engagements.validateCreate({ subject: "x" }, { accountToken: "acct_validate" });
  expect(problems.map((p) => p.pointer).sort()).toEqual(["/model/engagement_type", "/model/linked_account_params"]);
  expect(await client({ accountValidation: "off" }).engagements.validateCreate({ subject: "x" }, { accountToken: "acct_validate" })).toEqual([]);
  expect(posts).toHaveLength(0);
  expect(metaRequests).toEqual(["acct_validate"]);
});
