// Type-check cost: one create call with our client.
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({ apiKey: process.env.MERGE_API_KEY!, accountToken: process.env.MERGE_ACCOUNT_TOKEN! });
const { model, warnings } = await merge.engagements.create({
  subject: "Call from customer",
  direction: "INBOUND",
  start_time: "2022-02-10T00:00:00Z",
});
console.log(model.id, warnings.length);
