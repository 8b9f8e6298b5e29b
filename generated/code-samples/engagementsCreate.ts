// x-codeSamples of POST /crm/v1/engagements. Do not edit: generated from openapi/ by `npm run generate` (scripts/generate.ts).
import { createMergeCrmClient } from "merge-crm-engagements";

const merge = createMergeCrmClient({
  apiKey: process.env.MERGE_API_KEY!,
  accountToken: process.env.MERGE_ACCOUNT_TOKEN!,
});

const { model, warnings, errors } = await merge.engagements.create(
  {
    subject: "Call from customer",
    content: "Discussed renewal",
    direction: "INBOUND",
    start_time: "2022-02-10T00:00:00Z",
    end_time: "2022-02-10T00:05:00Z",
    contacts: ["a7c55bc6-2940-c80a-848e-bbfacbfdf4f0"],
  },
  { idempotencyKey: crypto.randomUUID() },
);
console.log(model.id, warnings, errors);
