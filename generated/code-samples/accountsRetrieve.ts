// x-codeSamples of GET /crm/v1/accounts/{id}. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const account = await merge.accounts.retrieve("025fa1c6-6000-430a-848e-aafacbadf4fe");
console.log(account.name, account.website, account.owner);
