// x-codeSamples of GET /crm/v1/engagement-types. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

// There is no filter: list them all (a CRM has few) and match on activity_type or name.
for await (const engagementType of merge.engagementTypes.listAll()) {
  console.log(engagementType.id, engagementType.activity_type, engagementType.name);
}
