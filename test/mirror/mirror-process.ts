/**
 * The mirror as a process of its own, for the chaos test (test/mirror/chaos.test.ts), which kills it
 * with SIGKILL and starts it again: it opens the mirror on `--db` (a PGlite directory or a postgres://
 * URL), syncs `--account-token` against `--base-url` every `--every-ms`, and receives Merge's webhooks on
 * a loopback port, answering 200 only once `mirror.apply` has committed the event (`--every-ms 0`:
 * webhooks only, no sync). It prints
 * `ready <port>` when both run, and one line per sync or failure.
 *
 * Failures of the database (a Postgres restarted under it) or of the API are survived: a sync that
 * fails is logged and tried again on the next tick, a webhook whose apply fails is answered 500 (the
 * sender retries, as Merge does). Only an unexpected crash ends it, which the test reports.
 *
 * Run with `node --import tsx test/mirror/mirror-process.ts --db D --base-url U --account-token T`;
 * the webhook key comes from MERGE_WEBHOOK_KEY, the API key from MERGE_API_KEY.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createMergeCrmClient } from "../../src/index.js";
import { openEngagementMirror, type EngagementMirror } from "../../src/mirror/index.js";
import { createMergeWebhookNodeHandler } from "../../src/webhooks/index.js";

const { values } = parseArgs({
  options: {
    db: { type: "string" },
    "base-url": { type: "string" },
    "account-token": { type: "string" },
    "every-ms": { type: "string", default: "200" },
  },
});
const db = values.db;
const baseUrl = values["base-url"];
const accountToken = values["account-token"];
const key = process.env["MERGE_WEBHOOK_KEY"];
if (!db || !baseUrl || !accountToken || !key) {
  process.stderr.write("usage: mirror-process --db D --base-url U --account-token T (MERGE_WEBHOOK_KEY set)\n");
  process.exit(2);
}
const everyMs = Number(values["every-ms"]);
const say = (line: string) => process.stdout.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const client = createMergeCrmClient({ apiKey: process.env["MERGE_API_KEY"] ?? "sk_mirror_chaos", baseUrl, maxRetries: 4, initialRetryDelayMs: 20, logger: {} });

// The database may be restarting when this process starts: try again for a while.
let mirror: EngagementMirror | undefined;
for (let attempt = 1; mirror === undefined; attempt++) {
  try {
    mirror = await openEngagementMirror({ client, database: db });
  } catch (error) {
    if (attempt >= 100) throw error;
    say(`open failed: ${message(error)}`);
    await sleep(100);
  }
}
const opened = mirror;

const handle = createMergeWebhookNodeHandler({
  key,
  // Off: every delivery reaches apply, so repeats test the mirror's newer-wins rather than the dedupe.
  dedupe: false,
  onEvent: async (event) => {
    const result = await opened.apply(event);
    say(`webhook ${result.event} ${result.id ?? "-"} ${result.outcome}`);
  },
  onError: (error, context) => say(`webhook failed (${context.status}): ${message(error)}`),
});
const server = createServer((req, res) => void handle(req, res));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
say(`ready ${(server.address() as AddressInfo).port}`);

// --every-ms 0: webhooks only (the chaos test's last run, where no sync mends what a webhook undid).
while (everyMs > 0) {
  try {
    const summary = await opened.sync({ accountToken });
    say(`synced ${summary.pages} pages ${summary.records} records ${summary.changed} changed caughtUp=${summary.caughtUp}`);
  } catch (error) {
    say(`sync failed: ${message(error)}`);
  }
  await sleep(everyMs);
}
