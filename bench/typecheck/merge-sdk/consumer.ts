// Type-check cost: one create call with the official SDK.
import { MergeClient } from "@mergeapi/merge-node-client";

const merge = new MergeClient({ apiKey: process.env.MERGE_API_KEY!, accountToken: process.env.MERGE_ACCOUNT_TOKEN! });
const { model, warnings } = await merge.crm.engagements.create({
  model: { subject: "Call from customer", direction: "INBOUND", startTime: new Date("2022-02-10T00:00:00Z") },
});
console.log(model.id, warnings?.length);
