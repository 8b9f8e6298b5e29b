// x-codeSamples of GET /crm/v1/contacts/{id}. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const contact = await merge.contacts.retrieve("a7c55bc6-2940-c80a-848e-bbfacbfdf4f0");
console.log(contact.first_name, contact.last_name, contact.email_addresses);
