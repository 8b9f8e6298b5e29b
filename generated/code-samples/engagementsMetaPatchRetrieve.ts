// x-codeSamples of GET /crm/v1/engagements/meta/patch/{id}. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const meta = await merge.engagements.metaForUpdate("550e8400-e29b-41d4-a716-446655440000");
console.log(meta.request_schema, meta.has_required_linked_account_params);
