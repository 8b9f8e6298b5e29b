/**
 * The main job: create one engagement and print the result.
 *
 * With MERGE_API_KEY and MERGE_ACCOUNT_TOKEN set (and optionally MERGE_REGION: us, eu, apac, sandbox)
 * it calls the real API. Without MERGE_API_KEY it starts Prism on the bundled spec and calls that.
 */
import { createMergeCrmClient, isMergeError, isRegion } from "../src/index.js";
import { startMockServer, type MockServer } from "../src/mock.js";

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
      merge = createMergeCrmClient({ apiKey, accountToken, region });
    } else {
      mock = await startMockServer();
      console.log(`No MERGE_API_KEY set: using the embedded Prism mock of the spec at ${mock.url}.`);
      merge = createMergeCrmClient({ apiKey: "mock-api-key", accountToken: "mock-account-token", baseUrl: mock.url });
    }
    const now = new Date();
    const result = await merge.engagements.create(
      {
        subject: "Call from customer",
        content: "Logged by merge-crm-engagements (npm start)",
        direction: "INBOUND",
        start_time: new Date(now.getTime() - 5 * 60_000).toISOString(),
        end_time: now.toISOString(),
      },
      { idempotencyKey: crypto.randomUUID() },
    );
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
