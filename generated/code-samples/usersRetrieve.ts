// x-codeSamples of GET /crm/v1/users/{id}. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const user = await merge.users.retrieve("0358cbc6-2040-430a-848e-aafacbadf3aa");
console.log(user.name, user.email, user.is_active);
