// x-codeSamples of GET /crm/v1/account-details. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const account = await merge.accountDetails.retrieve();
console.log(account.id, account.integration, account.status);
