// x-codeSamples of GET /crm/v1/contacts. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

// The client joins several addresses into the one comma-separated value Merge expects.
const page = await merge.contacts.list({ email_addresses: ["ada@example.com"] });
console.log(page.results.map((contact) => contact.id), page.next);

// Or every contact of an account, one page at a time:
for await (const contact of merge.contacts.listAll({ account_id: "025fa1c6-6000-430a-848e-aafacbadf4fe" })) {
  console.log(contact.id, contact.first_name, contact.last_name);
}
