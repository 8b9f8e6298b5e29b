/**
 * One worker process of a fleet (test/queue/fleet-pacing.test.ts, bench/queue.ts): a worker
 * of `merge-crm-engagements/queue` on the queue and Redis named by its argument, a JSON
 * `FleetWorkerSettings`, delivering to a local Merge. The account tokens are opened with
 * MERGE_QUEUE_SECRET from the environment. Its stdout is JSON lines (`FleetEvent`): `ready` once the
 * worker takes jobs, `log` for what the worker logs (warn, and info when `logInfo`), and `closed` with
 * its stats and the requests it sent per linked account (by account name) after SIGTERM, when it exits 0.
 */
import { startEngagementWorker } from "../../src/queue/index.js";
import { accountName } from "../../src/delivery/keys.js";
import { createMergeCrmClient, type Logger } from "../../src/index.js";
import type { FleetEvent, FleetWorkerSettings } from "./fleet-processes.js";

const settings = JSON.parse(process.argv[2] ?? "{}") as FleetWorkerSettings;
const emit = (event: FleetEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);

// What this worker sent, by linked account: how the fleet's share of an account's rate splits.
const sent: Record<string, number> = {};
const names = new Map<string, string>();
const transport = settings.transport === "undici" ? (await import("../../src/undici/index.js")).createUndiciFetch() : (request: Request) => globalThis.fetch(request);
const fetch = (request: Request) => {
  const token = request.headers.get("x-account-token") ?? "";
  let account = names.get(token);
  if (account === undefined) names.set(token, (account = accountName(token)));
  sent[account] = (sent[account] ?? 0) + 1;
  return transport(request);
};
const logger: Logger = {
  warn: (message) => emit({ event: "log", level: "warn", message }),
  error: (message) => emit({ event: "log", level: "error", message }),
  ...(settings.logInfo ? { info: (message: string) => emit({ event: "log", level: "info", message }) } : {}),
};
const worker = await startEngagementWorker({
  client: createMergeCrmClient({ apiKey: "sk_fleet", baseUrl: settings.baseUrl, logger: {}, fetch }),
  connection: settings.redisUrl,
  name: settings.queue,
  ratePerMinute: settings.ratePerMinute,
  concurrency: settings.concurrency,
  ...(settings.accountHealth === undefined ? {} : { accountHealth: settings.accountHealth }),
  logger,
});
emit({ event: "ready", pid: process.pid });
await worker.closed;
emit({ event: "closed", stats: worker.stats(), sent });
process.exit(0);
