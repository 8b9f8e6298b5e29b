// Creates one engagement with fetch, by hand (the size floor). Credentials come from the page/worker.
const { MERGE_API_KEY, MERGE_ACCOUNT_TOKEN } = globalThis;
const response = await fetch("https://api.merge.dev/api/crm/v1/engagements", {
  method: "POST",
  headers: {
    Authorization: `Bearer ${MERGE_API_KEY}`,
    "X-Account-Token": MERGE_ACCOUNT_TOKEN,
    "Idempotency-Key": crypto.randomUUID(),
    "Content-Type": "application/json",
  },
  body: JSON.stringify({ model: { subject: "Call from customer", direction: "INBOUND", start_time: "2022-02-10T00:00:00Z" } }),
});
if (!response.ok) throw new Error(`create failed: ${response.status}`);
const { model } = await response.json();
console.log(model.id);
