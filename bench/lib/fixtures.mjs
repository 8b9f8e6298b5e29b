/**
 * What every client sends and what the server answers: one realistic engagement, the credentials,
 * and a fixed, spec-valid 201 body (checked against our validators at the start of the HTTP run).
 */
export const API_KEY = "bench_api_key_0123456789abcdef";
export const ACCOUNT_TOKEN = "bench_account_token_0123456789abcdef";
export const PATH = "/crm/v1/engagements";

/**
 * The engagement to create, in the spec's (wire) shape: what raw fetch, undici, openapi-fetch and our
 * client send. Only fields the official SDK also knows (it strips others, such as `engagement_url`).
 */
export const MODEL = Object.freeze({
  owner: "0358cbc6-2040-430a-848e-aafacbadf3aa",
  subject: "Call from customer",
  content: "Discussed the renewal: two more seats from March, a new quote by Friday, follow-up call next week.",
  direction: "INBOUND",
  engagement_type: "1a6b3f2e-7c4d-4e8f-9a0b-2c3d4e5f6a7b",
  start_time: "2022-02-10T00:00:00Z",
  end_time: "2022-02-10T00:05:00Z",
  account: "025fa1c6-6000-430a-848e-aafacbadf4fe",
  contacts: ["a7c55bc6-2940-c80a-848e-bbfacbfdf4f0", "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"],
});

/**
 * The same engagement in the official SDK's shape (camelCase, `Date`s): its serializer turns it into
 * the same JSON keys (dates as `2022-02-10T00:00:00.000Z`).
 */
export function sdkModel() {
  return {
    owner: MODEL.owner,
    subject: MODEL.subject,
    content: MODEL.content,
    direction: MODEL.direction,
    engagementType: MODEL.engagement_type,
    startTime: new Date(MODEL.start_time),
    endTime: new Date(MODEL.end_time),
    account: MODEL.account,
    contacts: [...MODEL.contacts],
  };
}

/** The 201 answer: `{ model, warnings, errors }` with the engagement as Merge stores it. */
export const RESPONSE_201 = {
  model: {
    id: "550e8400-e29b-41d4-a716-446655440000",
    remote_id: "19202938",
    created_at: "2024-05-14T09:31:07.118Z",
    modified_at: "2024-05-14T09:31:07.118Z",
    owner: MODEL.owner,
    content: MODEL.content,
    subject: MODEL.subject,
    direction: "INBOUND",
    engagement_type: MODEL.engagement_type,
    start_time: MODEL.start_time,
    end_time: MODEL.end_time,
    account: MODEL.account,
    contacts: [...MODEL.contacts],
    engagement_url: "https://crm.example.com/engagements/19202938",
    remote_was_deleted: false,
    field_mappings: {
      organization_defined_targets: { custom_key: "custom_value" },
      linked_account_defined_targets: { custom_key: "custom_value" },
    },
    remote_data: null,
    remote_fields: [],
  },
  warnings: [],
  errors: [],
};

/**
 * GET /crm/v1/engagements/meta/post: a linked account whose CRM requires the fields MODEL has (read by
 * "ours, account validation strict", which checks every create against it before sending).
 */
export const META_POST = {
  request_schema: {
    type: "object",
    properties: {
      model: {
        type: "object",
        properties: {
          owner: { type: "string", format: "uuid" },
          subject: { type: "string", maxLength: 255 },
          content: { type: "string" },
          direction: { type: "string", enum: ["INBOUND", "OUTBOUND"] },
          engagement_type: { type: "string", format: "uuid" },
          start_time: { type: "string", format: "date-time" },
          end_time: { type: "string", format: "date-time" },
          account: { type: "string", format: "uuid" },
          contacts: { type: "array", items: { type: "string", format: "uuid" } },
        },
        required: ["subject", "engagement_type", "start_time", "account"],
      },
    },
    required: ["model"],
  },
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: false,
};

/** A meta request_schema of `fields` model fields of every kind, for the compile-time measure. */
export function wideMetaSchema(fields) {
  const kinds = [
    { type: "string", maxLength: 255, description: "A text field" },
    { type: ["string", "null"], format: "date-time" },
    { type: "string", enum: ["A", "B", "C", "D"] },
    { type: "integer", minimum: 0, maximum: 1000 },
    { type: "array", items: { type: "string", format: "uuid" }, uniqueItems: true },
    { type: "object", properties: { id: { type: "string" }, label: { type: "string" } }, required: ["id"] },
  ];
  const properties = {};
  for (let i = 0; i < fields; i++) properties[`field_${i}`] = structuredClone(kinds[i % kinds.length]);
  return {
    type: "object",
    properties: {
      model: { type: "object", properties, required: Object.keys(properties).filter((_, i) => i % 3 === 0) },
      linked_account_params: { type: "object", properties: { owner_email: { type: "string" } }, required: ["owner_email"] },
    },
    required: ["model"],
  };
}
