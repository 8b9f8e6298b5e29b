// x-codeSamples of GET /crm/v1/engagements. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const page = await merge.engagements.list({ page_size: 50, modified_after: new Date("2024-01-01"), expand: ["owner"] });
console.log(page.results.length, page.next);

// Or every engagement, one page at a time:
for await (const engagement of merge.engagements.listAll({ page_size: 100 })) {
  console.log(engagement.id, engagement.subject);
}
