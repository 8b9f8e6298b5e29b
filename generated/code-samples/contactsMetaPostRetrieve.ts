// x-codeSamples of GET /crm/v1/contacts/meta/post. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const { request_schema, status } = await merge.contacts.metaForCreate();
console.log(request_schema, status?.can_make_request);
