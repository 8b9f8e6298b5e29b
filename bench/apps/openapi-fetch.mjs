// Creates one engagement with bare openapi-fetch (no validation, no retries, no typed errors).
import createClient from "openapi-fetch";

const { MERGE_API_KEY, MERGE_ACCOUNT_TOKEN } = globalThis;
const client = createClient({
  baseUrl: "https://api.merge.dev/api",
  headers: { Authorization: `Bearer ${MERGE_API_KEY}`, "X-Account-Token": MERGE_ACCOUNT_TOKEN },
});
const { data, response } = await client.POST("/crm/v1/engagements", {
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
  body: { model: { subject: "Call from customer", direction: "INBOUND", start_time: "2022-02-10T00:00:00Z" } },
});
if (!response.ok) throw new Error(`create failed: ${response.status}`);
console.log(data.model.id);
