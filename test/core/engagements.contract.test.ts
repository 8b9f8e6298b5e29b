/**
 * Contract tests: the client against Prism serving generated/openapi.json with --errors (started once
 * by the jest global setup). Prism validates every request against the spec and refuses what breaks it.
 */
import {
  createMergeCrmClient,
  MergeAuthenticationError,
  MergeBadRequestError,
  MergeServerError,
  MergeValidationError,
  type EngagementRequest,
} from "../../src/index.js";
import { prismClient, prismUrl } from "../support/prism.js";
import { eachTransport, sendThrough, transportOption } from "../support/transports.js";

const EVERY_FIELD: Required<EngagementRequest> = {
  owner: "0358cbc6-2040-430a-848e-aafacbadf3aa",
  content: "Call for negotiation",
  subject: "Call from customer",
  direction: "INBOUND",
  engagement_type: "0358cbc6-2040-430a-848e-aafacbadf3aa",
  start_time: "2022-02-10T00:00:00Z",
  end_time: "2022-02-10T00:05:00Z",
  account: "025fa1c6-6000-430a-848e-aafacbadf4fe",
  contacts: ["a7c55bc6-2940-c80a-848e-bbfacbfdf4f0"],
  engagement_url: "https://crm.example.com/engagements/19202938",
  integration_params: { unique_integration_field: "value" },
  linked_account_params: { unique_linked_account_field: "value" },
  remote_fields: [{ remote_field_class: "2fa1c5d4-7d0e-4b8a-9c3f-1f2e3d4c5b6a", value: { nested: [1, 2] } }],
};

function client(validateRequests = true) {
  return prismClient({ validateRequests });
}

eachTransport(() => {
  describe("POST /crm/v1/engagements against Prism", () => {
    test("creates with every field and returns the documented 201", async () => {
      const { model, warnings, errors, logs } = await client().engagements.create(EVERY_FIELD, { idempotencyKey: "b3f1c0de-0000-4000-8000-000000000001" });
      expect(model.id).toBe("550e8400-e29b-41d4-a716-446655440000");
      expect(model.direction).toBe("INBOUND");
      expect(model.remote_fields?.[0]?.remote_field_class.display_name).toBe("string");
      expect(warnings[0]?.problem_type).toBe("UNRECOGNIZED_FIELD");
      expect(errors[0]?.source?.pointer).toBe("/model/custom_fields");
      expect(logs?.[0]?.log_summary.status_code).toBe(200);
    });

    test("creates with an empty model, as Merge's own example does", async () => {
      const result = await client().engagements.create({});
      expect(result.model.id).toBeDefined();
    });

    test("creates with every nullable field set to null", async () => {
      const result = await client().engagements.create({
        owner: null,
        content: null,
        subject: null,
        direction: null,
        engagement_type: null,
        start_time: null,
        end_time: null,
        account: null,
        engagement_url: null,
        integration_params: null,
        linked_account_params: null,
      });
      expect(result.model).toBeDefined();
    });

    test("creates with remote fields, the class given by id", async () => {
      const result = await client().engagements.create({
        remote_fields: [
          { remote_field_class: "2fa1c5d4-7d0e-4b8a-9c3f-1f2e3d4c5b6a", value: "Discussed renewal" },
          { remote_field_class: "3fa1c5d4-7d0e-4b8a-9c3f-1f2e3d4c5b6a", value: null },
        ],
      });
      expect(result.model.remote_fields?.length).toBeGreaterThan(0);
    });

    test("creates in debug mode and async, with the query flags the spec declares", async () => {
      const result = await client().engagements.create({ subject: "debug" }, { isDebugMode: true, runAsync: true });
      expect(result.logs?.[0]?.dashboard_view).toMatch(/^https:\/\/app\.merge\.dev\/logs\//);
    });

    test("the per-call account token is what Prism receives (a client without one works per call)", async () => {
      const perCall = createMergeCrmClient({ apiKey: "test-api-key", baseUrl: prismUrl(), ...transportOption() });
      await expect(perCall.engagements.create({}, { accountToken: "per-call-token" })).resolves.toHaveProperty("model");
    });

    test("a body that breaks the spec, sent through merge.raw with a cast, is refused with the spec's 400", async () => {
      const merge = client();
      // Deliberately wrong: the types forbid it, so the cast stands in for a caller without types.
      const body = { model: { direction: "SIDEWAYS", contacts: ["not-a-uuid"] } } as unknown as { model: EngagementRequest };
      const { data, error, response } = await merge.raw.POST("/crm/v1/engagements", {
        params: { header: { "X-Account-Token": "test-account-token" } },
        body,
      });
      expect(data).toBeUndefined();
      expect(response.status).toBe(400);
      expect(error).toHaveProperty("detail");
      // Prism lists what it found in the sl-violations header: both faults, by path.
      const violations = JSON.parse(response.headers.get("sl-violations") ?? "[]") as { location: string[] }[];
      const paths = violations.map((v) => v.location.join("/"));
      expect(paths).toEqual(expect.arrayContaining(["request/body/model/direction", "request/body/model/contacts/0"]));
    });

    test("the same bad body through engagements.create is refused before sending, naming /model/direction", async () => {
      const bad = { direction: "SIDEWAYS" } as unknown as EngagementRequest;
      const error: unknown = await client().engagements.create(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MergeValidationError);
      expect(error).toMatchObject({
        problems: [{ pointer: "/model/direction", message: "must be equal to one of the allowed values: INBOUND, OUTBOUND, or must be null" }],
        writeMayHaveHappened: false,
      });
    });

    test("with validation off, the bad body reaches Prism and comes back as a typed MergeBadRequestError", async () => {
      const bad = { direction: "SIDEWAYS" } as unknown as EngagementRequest;
      const error: unknown = await client(false).engagements.create(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MergeBadRequestError);
      expect(error).toMatchObject({ status: 400, method: "POST", writeMayHaveHappened: false });
    });

    test("a call without the bearer token is refused with 401", async () => {
      const merge = client();
      const { response } = await merge.raw.POST("/crm/v1/engagements", {
        params: { header: { "X-Account-Token": "test-account-token" } },
        body: { model: {} },
        headers: { Authorization: null },
      });
      expect(response.status).toBe(401);

      const noBearer = createMergeCrmClient({
        apiKey: "test-api-key",
        accountToken: "test-account-token",
        baseUrl: prismUrl(),
        fetch: (request) => {
          const headers = new Headers(request.headers);
          headers.delete("authorization");
          return sendThrough(new Request(request, { headers }));
        },
      });
      await expect(noBearer.engagements.create({})).rejects.toBeInstanceOf(MergeAuthenticationError);
    });

    test("documented failures come back typed: 429 and 5xx", async () => {
      const merge = createMergeCrmClient({
        maxRetries: 0,
        apiKey: "test-api-key",
        accountToken: "test-account-token",
        baseUrl: prismUrl(),
        fetch: (request) => {
          const headers = new Headers(request.headers);
          headers.set("Prefer", `code=${request.headers.get("x-test-code") ?? "201"}`);
          return sendThrough(new Request(request, { headers }));
        },
      });
      await expect(merge.engagements.create({}, { headers: { "x-test-code": "429" } })).rejects.toMatchObject({
        status: 429,
        body: { detail: "Request was throttled. Expected available in 60 seconds." },
      });
      const error: unknown = await merge.engagements.create({}, { headers: { "x-test-code": "500" } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MergeServerError);
      expect(error).toMatchObject({ status: 500, writeMayHaveHappened: true });
    });

    test("the request built from Merge's documentation (the seed page's curl) is accepted", async () => {
      const response = await sendThrough(new Request(`${prismUrl()}/crm/v1/engagements`, {
        method: "POST",
        headers: {
          "X-Account-Token": "X-Account-Token",
          Authorization: "Bearer <token>",
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ model: {} }),
      }));
      expect(response.status).toBe(201);
      const body = (await response.json()) as { model: { id: string } };
      expect(body.model.id).toBe("550e8400-e29b-41d4-a716-446655440000");
    });
  });
});
