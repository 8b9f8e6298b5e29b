// x-codeSamples of PATCH /crm/v1/engagements/{id}. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

// null clears a field; a key left out is not changed.
const { model } = await merge.engagements.update("550e8400-e29b-41d4-a716-446655440000", {
  subject: "Call from customer (follow-up)",
  end_time: null,
});
console.log(model.modified_at);
