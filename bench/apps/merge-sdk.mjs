// Creates one engagement with the official SDK, @mergeapi/merge-node-client.
import { MergeClient } from "@mergeapi/merge-node-client";

const { MERGE_API_KEY, MERGE_ACCOUNT_TOKEN } = globalThis;
const merge = new MergeClient({ apiKey: MERGE_API_KEY, accountToken: MERGE_ACCOUNT_TOKEN });
const { model } = await merge.crm.engagements.create({
  model: { subject: "Call from customer", direction: "INBOUND", startTime: new Date("2022-02-10T00:00:00Z") },
});
console.log(model.id);
