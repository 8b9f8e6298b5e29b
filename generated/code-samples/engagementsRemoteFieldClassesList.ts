// x-codeSamples of GET /crm/v1/engagements/remote-field-classes. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

for await (const field of merge.engagements.allRemoteFieldClasses({ is_custom: true })) {
  console.log(field.id, field.remote_key_name, field.field_type);
}
