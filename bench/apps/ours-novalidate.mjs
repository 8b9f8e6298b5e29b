// Creates one engagement with our client, validation turned off (a run-time option: same code shipped).
import { createMergeCrmClient } from "../.dist/index.js";

const { MERGE_API_KEY, MERGE_ACCOUNT_TOKEN } = globalThis;
const merge = createMergeCrmClient({
  apiKey: MERGE_API_KEY,
  accountToken: MERGE_ACCOUNT_TOKEN,
  validateRequests: false,
  validateResponses: "off",
});
const { model } = await merge.engagements.create({ subject: "Call from customer", direction: "INBOUND", start_time: "2022-02-10T00:00:00Z" });
console.log(model.id);
