// x-codeSamples of POST /crm/v1/contacts. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const { model, warnings, errors } = await merge.contacts.create(
  {
    first_name: "Ada",
    last_name: "Lovelace",
    email_addresses: [{ email_address: "ada@example.com", email_address_type: "WORK" }],
  },
  { idempotencyKey: crypto.randomUUID() },
);
console.log(model.id, warnings, errors);
