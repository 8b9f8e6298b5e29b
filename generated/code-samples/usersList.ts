// x-codeSamples of GET /crm/v1/users. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const page = await merge.users.list({ email: "rep@example.com" });
console.log(page.results.map((user) => user.id), page.next);
