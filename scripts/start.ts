/**
 * The main job: log a call by what an app knows (the contact's email, the rep's email, the company's
 * name, "it was a call"), and print the result: `engagements.resolve` looks up Merge's ids, then
 * `engagements.create` writes it.
 *
 * With MERGE_API_KEY and MERGE_ACCOUNT_TOKEN set (and optionally MERGE_REGION: us, eu, apac, sandbox)
 * it calls the real API. Without MERGE_API_KEY it starts Prism on the bundled spec and calls that;
 * with MERGE_WEBHOOK_URL set too, that mock sends the create's `Engagement.added` webhook there, signed
 * with MERGE_WEBHOOK_KEY (default "mock-webhook-key").
 * First it asks what the linked account's CRM requires (describeCreate) and fills in the activity
 * owner's email when the CRM asks for it (MERGE_ACTIVITY_OWNER_EMAIL); the create is then checked
 * against that account's schema as well as the spec (accountValidation "warn").
 */
import { createMergeCrmClient, isMergeError, isRegion, type EngagementDraft } from "../src/index.js";
import { startMockServer, type MockServer } from "../src/mock/index.js";

async function main(): Promise<void> {
  const apiKey = process.env["MERGE_API_KEY"];
  let mock: MockServer | undefined;
  const stop = async () => {
    await mock?.close();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void stop().finally(() => process.exit(130));
    });
  }
  try {
    let merge;
    if (apiKey) {
      const accountToken = process.env["MERGE_ACCOUNT_TOKEN"];
      if (!accountToken) throw new Error("MERGE_ACCOUNT_TOKEN must be set with MERGE_API_KEY");
      const region = process.env["MERGE_REGION"] ?? "us";
      if (!isRegion(region)) throw new Error(`MERGE_REGION must be one of us, eu, apac, sandbox (got ${region})`);
      console.log(`Calling the real Merge API (region ${region}).`);
      merge = createMergeCrmClient({ apiKey, accountToken, region, accountValidation: "warn" });
    } else {
      const webhookUrl = process.env["MERGE_WEBHOOK_URL"];
      const webhookKey = process.env["MERGE_WEBHOOK_KEY"];
      mock = await startMockServer(webhookUrl ? { webhooks: { url: webhookUrl, key: webhookKey ?? "mock-webhook-key" } } : {});
      console.log(`No MERGE_API_KEY set: using the embedded Prism mock of the spec at ${mock.url}.`);
      if (webhookUrl) {
        const signedWith = webhookKey === undefined ? "the default key of scripts/start.ts (MERGE_WEBHOOK_KEY unset)" : "MERGE_WEBHOOK_KEY";
        console.log(`The mock sends Engagement.added and Engagement.changed webhooks to ${webhookUrl}, signed with ${signedWith}.`);
      }
      merge = createMergeCrmClient({ apiKey: "mock-api-key", accountToken: "mock-account-token", baseUrl: mock.url, accountValidation: "warn" });
    }
    const now = new Date();
    // What the app knows; MERGE_CONTACT_EMAIL, MERGE_OWNER_EMAIL and MERGE_COMPANY name them for a real
    // linked account (the mock's directory holds ada@example.com, rep@example.com and Acme Inc).
    const contactEmail = process.env["MERGE_CONTACT_EMAIL"] ?? "ada@example.com";
    const ownerEmail = process.env["MERGE_OWNER_EMAIL"] ?? "rep@example.com";
    const company = process.env["MERGE_COMPANY"] ?? "Acme Inc";
    const draft: EngagementDraft = {
      subject: "Call to customer",
      content: "Logged by merge-crm-engagements (npm start)",
      direction: "OUTBOUND",
      start_time: new Date(now.getTime() - 5 * 60_000),
      end_time: now,
      contacts: [{ email: contactEmail }],
      owner: { email: ownerEmail },
      account: { name: company },
      engagement_type: { activity_type: "CALL" },
    };
    const model = await merge.engagements.resolve(draft);
    console.log(
      `Resolved: contact ${contactEmail} -> ${model.contacts?.join(", ")}, owner ${ownerEmail} -> ${model.owner}, ` +
        `account "${company}" -> ${model.account}, CALL -> engagement type ${model.engagement_type}.`,
    );
    try {
      const { fields, linkedAccountStatus } = await merge.engagements.describeCreate();
      const required = fields.filter((field) => field.required).map((field) => field.pointer);
      console.log(`The linked account (${linkedAccountStatus ?? "status unknown"}) requires: ${required.join(", ") || "nothing beyond the spec"}.`);
      if (required.includes("/model/linked_account_params/activity_owner_email")) {
        model.linked_account_params = { activity_owner_email: process.env["MERGE_ACTIVITY_OWNER_EMAIL"] ?? "owner@example.com" };
      }
    } catch (error) {
      console.log(`Could not read what the linked account requires (${isMergeError(error) ? error.message : String(error)}); sending anyway.`);
    }
    const result = await merge.engagements.create(model, { idempotencyKey: crypto.randomUUID() });
    console.log(`Created engagement ${result.model.id ?? "(no id returned)"}:`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await stop();
  }
}

main().catch((error: unknown) => {
  const message = isMergeError(error) || error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.error(`npm start failed: ${message}`);
  process.exitCode = 1;
});
