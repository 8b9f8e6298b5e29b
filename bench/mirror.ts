/**
 * npm run bench:mirror: the mirror (`merge-crm-engagements/mirror`) into PGlite and into Postgres, from
 * the moving server's fast mode (test/sync/moving-server.ts: no faults, no moves, each record's JSON
 * kept; pages of 100) in this process. Each database's run is a child process of its own (this file
 * with `--child`, under tsx), so the RSS it reports is the mirror's (client, mirror, driver, PGlite's
 * WASM), not the server's 200,000 records.
 * 1. Sync: BENCH_MIRROR_ROWS engagements (default 200,000) by `mirror.sync` into a fresh PGlite
 *    directory, then into a fresh database of a local Postgres (test/support/postgres.ts, fsync off).
 *    rows/s = rows committed (the sync's `changed`) ÷ the wall time of `mirror.sync`; the table's row
 *    count is checked against the server's. RSS (`process.memoryUsage().rss`) is sampled every 50 ms
 *    during the sync: its peak, and its value at 25%, 50% and 95% of the run; and every second the
 *    memory still held after a forced full collection (the child runs with --expose-gc): heap in use
 *    plus external memory (buffers, PGlite's WASM memory), at the same points. RSS alone grows while V8
 *    puts off collecting (an earlier run without the collections: 147 → 179 MB into Postgres) without
 *    holding more; what is held after a collection is what would grow with the rows. Beside them the
 *    child's CPU time over the sync (on a loaded machine the wall time waits for the CPU; the CPU time
 *    does not).
 * 2. Webhooks: a node:http listener with `createMergeWebhookNodeHandler` (verify, unwrap) whose onEvent
 *    awaits `mirror.apply`, so the 200 goes out after the commit. BENCH_MIRROR_WEBHOOKS signed
 *    Engagement.changed deliveries (default 2,000; each a newer version of a synced engagement, so each
 *    is applied), signed beforehand, sent by fetch from the same child with BENCH_MIRROR_IN_FLIGHT in
 *    flight (default 4).
 *    Per event: arrival (the listener's request event) → commit (`apply` resolved); median and p99.
 * Targets: ≥ 10,000 rows/s into Postgres, ≥ 5,000 rows/s into PGlite, flat memory: what is held after
 * a full collection at 95% of each sync within 10% of it at 25% (the first quarter is where the heap and
 * the database's buffers settle).
 * Prints a table and one JSON line; exits 1 when a target is missed or a result is wrong.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createMergeCrmClient, type Engagement } from "../src/index.js";
import { openEngagementMirror, type EngagementMirror } from "../src/mirror/index.js";
import { createMergeWebhookNodeHandler, MERGE_WEBHOOK_SIGNATURE_HEADER, signMergeWebhook } from "../src/webhooks/index.js";
import { step } from "../scripts/lib.js";
import { integerFromEnvironment } from "../test/support/prism.js";
import { startPostgres } from "../test/support/postgres.js";
import { startMovingServer } from "../test/sync/moving-server.js";

const API_KEY = "bench-mirror-key";
const TOKEN = "bench-mirror-account";
const WEBHOOK_KEY = "wh_sk_bench_mirror_5c1e8a0f3b7d2946e1a8c0f4b9d3e7a2";
const ROWS = integerFromEnvironment("BENCH_MIRROR_ROWS", 200_000);
const WEBHOOKS = integerFromEnvironment("BENCH_MIRROR_WEBHOOKS", 2_000);
const IN_FLIGHT = integerFromEnvironment("BENCH_MIRROR_IN_FLIGHT", 4);
const TARGETS = { pglite: 5_000, postgres: 10_000 } as const;
const FLAT = 1.1;
const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const grouped = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const problems: string[] = [];

interface SyncResult {
  rows: number;
  pages: number;
  wallMs: number;
  rowsPerSecond: number;
  /** This process's CPU time during the sync (user + system), milliseconds: the client's and the driver's share. */
  cpuMs: number;
  count: number;
  peakRss: number;
  rssAt: { p25: number; p50: number; p95: number };
  /** Heap in use and external memory after a forced full collection, sampled every second. */
  retainedAt: { p25: number; p50: number; p95: number };
  flat: boolean;
}

interface WebhookResult {
  deliveries: number;
  applied: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  wallMs: number;
}

/** Memory the process still holds after a full collection: the JS heap in use and what lives outside it (buffers). */
function retained(): number {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("bench:mirror's child runs with --expose-gc");
  collect();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** Samples RSS every 50 ms, and retained memory (after a forced collection) every second, until stopped. */
function sampleMemory(): () => { rss: number[]; retained: number[] } {
  const rss = [process.memoryUsage().rss];
  const kept = [retained()];
  const timer = setInterval(() => rss.push(process.memoryUsage().rss), 50);
  const collections = setInterval(() => kept.push(retained()), 1_000);
  return () => {
    clearInterval(timer);
    clearInterval(collections);
    rss.push(process.memoryUsage().rss);
    kept.push(retained());
    return { rss, retained: kept };
  };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function benchSync(mirror: EngagementMirror): Promise<SyncResult> {
  const stop = sampleMemory();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const summary = await mirror.sync({ accountToken: TOKEN });
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const { rss: samples, retained: kept } = stop();
  const [row] = await mirror.query<{ count: string | number }>("SELECT count(*) AS count FROM merge_engagements");
  const count = Number(row?.count ?? 0);
  const at = (f: number, of: readonly number[] = samples) => of[Math.min(of.length - 1, Math.floor(f * of.length))] ?? 0;
  const rssAt = { p25: at(0.25), p50: at(0.5), p95: at(0.95) };
  const retainedAt = { p25: at(0.25, kept), p50: at(0.5, kept), p95: at(0.95, kept) };
  const result: SyncResult = {
    rows: summary.changed,
    pages: summary.pages,
    wallMs,
    rowsPerSecond: summary.changed / (wallMs / 1000),
    cpuMs: (user + system) / 1000,
    count,
    peakRss: Math.max(...samples),
    rssAt,
    retainedAt,
    flat: retainedAt.p95 <= retainedAt.p25 * FLAT,
  };
  console.log(
    `${grouped(summary.records)} records in ${grouped(summary.pages)} pages, ${grouped(summary.changed)} rows committed in ${(wallMs / 1000).toFixed(1)} s: ` +
      `${grouped(result.rowsPerSecond)} rows/s; table ${grouped(count)} rows; caughtUp ${summary.caughtUp}; ` +
      `this process's CPU ${(result.cpuMs / 1000).toFixed(1)} s (${((result.cpuMs / wallMs) * 100).toFixed(0)}% of the wall time, ${((result.cpuMs / Math.max(1, summary.changed)) * 1000).toFixed(0)} µs per row)`,
  );
  console.log(`RSS at 25/50/95% of the sync: ${mb(rssAt.p25)} / ${mb(rssAt.p50)} / ${mb(rssAt.p95)}; peak ${mb(result.peakRss)} (${samples.length} samples)`);
  console.log(`retained after a full collection at 25/50/95%: ${mb(retainedAt.p25)} / ${mb(retainedAt.p50)} / ${mb(retainedAt.p95)} (${kept.length} samples)`);
  if (summary.changed !== ROWS || count !== ROWS || !summary.caughtUp) {
    problems.push(`${mirror.kind}: ${summary.changed} rows committed and ${count} in the table of ${ROWS} (caughtUp ${summary.caughtUp})`);
  }
  return result;
}

/** Engagement.changed deliveries of `engagements` (a newer version of each), signed. */
async function deliveries(engagements: readonly Engagement[], linkedAccountId: string): Promise<{ body: string; signature: string }[]> {
  const base = Date.now();
  return Promise.all(
    engagements.map(async (engagement, i) => {
      const body = JSON.stringify({
        hook: { id: "8f0b6d1e-2c3a-4b5d-9e7f-1a2b3c4d5e6f", event: "Engagement.changed", target: "https://app.example.com/webhooks/merge" },
        linked_account: {
          id: linkedAccountId,
          integration: "HubSpot",
          integration_slug: "hubspot",
          category: "crm",
          end_user_origin_id: "bench",
          end_user_organization_name: "Bench GmbH",
          end_user_email_address: "admin@bench.example",
          status: "COMPLETE",
          webhook_listener_url: null,
          is_duplicate: false,
        },
        data: { ...engagement, subject: `${engagement.subject ?? ""} (changed)`, modified_at: new Date(base + i).toISOString() },
      });
      return { body, signature: await signMergeWebhook(body, WEBHOOK_KEY) };
    }),
  );
}

async function benchWebhooks(mirror: EngagementMirror): Promise<WebhookResult> {
  // Synced engagements (ids are random: the first by id are spread over the table), each changed.
  const picked = (await mirror.query<{ data: Engagement }>("SELECT data FROM merge_engagements ORDER BY id LIMIT $1", [WEBHOOKS])).map((row) => row.data);
  const signed = await deliveries(picked, await mirror.linkedAccountId(TOKEN));

  // Arrival is keyed by the delivery's signature: the handler's context.id is the same string.
  const arrivals = new Map<string, number>();
  const latencies: number[] = [];
  let applied = 0;
  const handle = createMergeWebhookNodeHandler({
    key: WEBHOOK_KEY,
    async onEvent(event, context) {
      const result = await mirror.apply(event);
      const committed = performance.now();
      if (result.outcome === "applied") applied++;
      const arrived = arrivals.get(context.id);
      if (arrived !== undefined) latencies.push(committed - arrived);
    },
    onError: (error) => problems.push(`${mirror.kind} webhook: ${String(error)}`),
  });
  const listener = createServer((req: IncomingMessage, res: ServerResponse) => {
    const signature = req.headers[MERGE_WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
    if (typeof signature === "string") arrivals.set(signature, performance.now());
    void handle(req, res);
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/webhooks/merge`;
  let failed = 0;
  const started = performance.now();
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < signed.length) {
          const delivery = signed[next++] as { body: string; signature: string };
          const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", [MERGE_WEBHOOK_SIGNATURE_HEADER]: delivery.signature }, body: delivery.body });
          await response.arrayBuffer();
          if (response.status !== 200) failed++;
        }
      }),
    );
  } finally {
    listener.closeAllConnections();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
  const wallMs = performance.now() - started;
  const sorted = latencies.sort((a, b) => a - b);
  const result: WebhookResult = { deliveries: signed.length, applied, medianMs: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted.at(-1) ?? Number.NaN, wallMs };
  console.log(
    `${grouped(signed.length)} deliveries, ${IN_FLIGHT} in flight, in ${(wallMs / 1000).toFixed(1)} s (${grouped(signed.length / (wallMs / 1000))}/s): ${applied} applied, ${failed} not answered 200; ` +
      `arrival → commit median ${ms(result.medianMs)}, p99 ${ms(result.p99Ms)}, max ${ms(result.maxMs)}`,
  );
  if (failed > 0 || applied !== signed.length || latencies.length !== signed.length) {
    problems.push(`${mirror.kind} webhooks: ${failed} not answered 200, ${applied} applied and ${latencies.length} timed of ${signed.length}`);
  }
  return result;
}

/** One database's run, in a process of its own (so its RSS is the mirror's, not the server's): one JSON line. */
async function child(kind: "pglite" | "postgres", serverUrl: string, database: string): Promise<void> {
  const client = createMergeCrmClient({ apiKey: API_KEY, baseUrl: serverUrl, logger: {} });
  const mirror = await openEngagementMirror({ client, database });
  try {
    const sync = await benchSync(mirror);
    step(`webhooks into ${kind === "pglite" ? "PGlite" : "Postgres"}: ${grouped(WEBHOOKS)} Engagement.changed, ${IN_FLIGHT} in flight`);
    const webhooks = await benchWebhooks(mirror);
    process.stdout.write(`${JSON.stringify({ sync, webhooks, problems })}\n`);
  } finally {
    await mirror.close();
  }
}

/** Runs this file as a child for one database, passing its lines through; resolves with its JSON line. */
async function runChild(kind: "pglite" | "postgres", serverUrl: string, database: string): Promise<{ sync: SyncResult; webhooks: WebhookResult; problems: string[] }> {
  const proc = spawn(process.execPath, [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), "--child", kind, serverUrl, database], { stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  proc.stdout.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    stdout += text;
    for (const line of text.split("\n")) if (line !== "" && !line.startsWith("{")) console.log(line);
  });
  const code = await new Promise<number | null>((resolve) => proc.on("close", resolve));
  const last = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !last.startsWith("{")) throw new Error(`the ${kind} run exited ${code}`);
  return JSON.parse(last) as { sync: SyncResult; webhooks: WebhookResult; problems: string[] };
}

if (process.argv[2] === "--child") {
  const [, , , kind, serverUrl, database] = process.argv;
  await child(kind === "postgres" ? "postgres" : "pglite", serverUrl ?? "", database ?? "");
  process.exit(0);
}

console.log(`${cpus().length} CPUs; load average ${loadavg().map((n) => n.toFixed(1)).join(" ")} (figures from a loaded machine vary with it)`);
step(`a fast local server with ${grouped(ROWS)} engagements`);
const built = performance.now();
const server = await startMovingServer({ seed: 30, records: ROWS, fast: true, apiKey: API_KEY, accountToken: TOKEN });
console.log(`built in ${((performance.now() - built) / 1000).toFixed(1)} s`);
const dir = mkdtempSync(join(tmpdir(), "bench-mirror-"));
const results: Record<string, { sync: SyncResult; webhooks: WebhookResult }> = {};
let postgresVersion = 0;
try {
  for (const kind of ["pglite", "postgres"] as const) {
    let database: string;
    let stopPostgres: (() => Promise<void>) | undefined;
    if (kind === "pglite") {
      database = join(dir, "pglite");
      step(`sync of ${grouped(ROWS)} engagements into PGlite (${database}), in a child process`);
    } else {
      const postgres = await startPostgres();
      stopPostgres = () => postgres.stop();
      postgresVersion = postgres.version;
      const { Pool } = await import("pg");
      const admin = new Pool({ connectionString: postgres.url });
      await admin.query("CREATE DATABASE mirror_bench");
      await admin.end();
      database = postgres.url.replace(/\/postgres$/, "/mirror_bench");
      step(`sync of ${grouped(ROWS)} engagements into Postgres ${postgres.version} (a fresh database, fsync off), in a child process`);
    }
    try {
      const { sync, webhooks, problems: found } = await runChild(kind, server.url, database);
      results[kind] = { sync, webhooks };
      problems.push(...found);
    } finally {
      await stopPostgres?.();
    }
  }
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`load average ${loadavg().map((n) => n.toFixed(1)).join(" ")}`);

const label = { pglite: "PGlite (a directory)", postgres: `Postgres ${postgresVersion} (fsync off)` } as const;
console.log(`\n| database | rows | sync time | rows/s | target | CPU per row | RSS at 25% / 50% / 95% | peak RSS | held after a collection at 25% / 50% / 95% | flat (95% ≤ 1.1 × 25%) | webhook arrival → commit median | p99 |`);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const kind of ["pglite", "postgres"] as const) {
  const result = results[kind];
  if (!result) continue;
  const { sync, webhooks } = result;
  const rateMet = sync.rowsPerSecond >= TARGETS[kind];
  if (!rateMet) problems.push(`${kind}: ${grouped(sync.rowsPerSecond)} rows/s (target >= ${grouped(TARGETS[kind])})`);
  if (!sync.flat) problems.push(`${kind}: ${mb(sync.retainedAt.p95)} held after a collection at 95% of the sync, more than 1.1 × ${mb(sync.retainedAt.p25)} at 25% (not flat)`);
  console.log(
    `| ${label[kind]} | ${grouped(sync.count)} | ${(sync.wallMs / 1000).toFixed(1)} s | ${grouped(sync.rowsPerSecond)} | ≥ ${grouped(TARGETS[kind])}: ${rateMet ? "met" : "missed"} | ${((sync.cpuMs / Math.max(1, sync.rows)) * 1000).toFixed(0)} µs | ` +
      `${mb(sync.rssAt.p25)} / ${mb(sync.rssAt.p50)} / ${mb(sync.rssAt.p95)} | ${mb(sync.peakRss)} | ` +
      `${mb(sync.retainedAt.p25)} / ${mb(sync.retainedAt.p50)} / ${mb(sync.retainedAt.p95)} | ${sync.flat ? "met" : "missed"} | ${ms(webhooks.medianMs)} | ${ms(webhooks.p99Ms)} |`,
  );
}

console.log(`\n${JSON.stringify({ bench: "mirror", rows: ROWS, webhooks: WEBHOOKS, inFlight: IN_FLIGHT, ...results, problems })}`);
if (problems.length > 0) {
  console.error(`bench:mirror missed its targets:\n- ${problems.join("\n- ")}`);
  process.exitCode = 1;
} else {
  console.log("bench:mirror met its targets");
}
