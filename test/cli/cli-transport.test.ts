/**
 * The import CLI sends over merge-crm-engagements/undici when undici resolves (it does in this
 * repository: a devDependency), and says so in its debug output (NODE_DEBUG=merge-crm-engagements).
 */
import { runCli } from "./run-cli.js";

test("NODE_DEBUG=merge-crm-engagements names the transport, and each request goes out over it", async () => {
  const run = await runCli(["import", "examples/engagements.ndjson", "--dry-run"], { NODE_DEBUG: "merge-crm-engagements" });
  expect(run.stderr).toMatch(/MERGE-CRM-ENGAGEMENTS \d+: transport: undici \(merge-crm-engagements\/undici\)/);
  // A dry run asks the mock for the account's schema only; that request is logged at debug level too.
  expect(run.stderr).toMatch(/MERGE-CRM-ENGAGEMENTS \d+: → GET http:\/\/127\.0\.0\.1:\d+\/crm\/v1\/engagements\/meta\/post/);
}, 60_000);

test("without NODE_DEBUG the CLI prints no debug line", async () => {
  const run = await runCli(["import", "examples/engagements.ndjson", "--dry-run"]);
  expect(run.stderr).not.toContain("MERGE-CRM-ENGAGEMENTS");
  expect(run.stderr).not.toContain("transport:");
}, 60_000);
