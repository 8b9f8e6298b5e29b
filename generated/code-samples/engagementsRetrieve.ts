// x-codeSamples of GET /crm/v1/engagements/{id}. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const engagement = await merge.engagements.retrieve("550e8400-e29b-41d4-a716-446655440000", {
  expand: ["owner", "contacts"],
  include_remote_data: true,
});
console.log(engagement.subject, engagement.owner);
