/**
 * npm run bench:sync: incremental sync at scale, against the moving server's fast mode
 * (test/sync/moving-server.ts: no faults, no moves, each record's JSON kept), in this process.
 * 1. Export of 200,000 records, by the CLI as built (dist/cli.js, `export --json`) in a process of its
 *    own: records/s (from process start to exit, and within the run) and peak RSS (VmHWM from
 *    /proc/<pid>/status, every 50 ms). Beside it the library alone, `engagementChanges` applying into a
 *    counter, in a child process (plain node on dist/): records/s and its peak RSS
 *    (`process.resourceUsage().maxRSS`). The server's memory is this process's, not theirs.
 * 2. A refresh after 1% of an account changed: 20,000 records synced to a checkpoint, then 200 changed
 *    (150 modified, 25 deleted, 25 created), then `engagementChanges` from the checkpoint: its requests
 *    against `merge.engagements.listAll`'s full walk (deletions included), and the copy checked against
 *    the server's records.
 * Prints a table and one JSON line. BENCH_QUICK=1 is a smoke run (20,000 and 5,000 records);
 * BENCH_SYNC_RECORDS and BENCH_SYNC_REFRESH_RECORDS change the sizes. Exits 1 when a result is wrong
 * (records lost, the copy not equal to the server's, a refresh that reads as much as a full walk).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMergeCrmClient, type Engagement } from "../src/index.js";
import { engagementChanges } from "../src/sync/index.js";
import { integerFromEnvironment } from "../test/support/prism.js";
import { startMovingServer } from "../test/sync/moving-server.js";
import { root, run, step } from "../scripts/lib.js";

const API_KEY = "bench-sync-key";
const TOKEN = "bench-sync-account";
const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const grouped = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * The library's walk in a child process of its own, as built (dist/): the whole account, applied into a
 * counter; it prints one JSON line. Plain node, no tsx: its peak RSS is the library's and node's.
 */
const LIBRARY_WALK = `
const { createMergeCrmClient } = await import(process.argv[1] + "/dist/index.js");
const { engagementChanges } = await import(process.argv[1] + "/dist/sync.js");
const merge = createMergeCrmClient({ apiKey: ${JSON.stringify(API_KEY)}, accountToken: ${JSON.stringify(TOKEN)}, baseUrl: process.argv[2] });
const started = performance.now();
let records = 0, upserts = 0, deletes = 0, batches = 0;
for await (const batch of engagementChanges(merge)) {
  batches++;
  records += batch.records;
  for (const change of batch.changes) change.op === "upsert" ? upserts++ : deletes++;
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ records, upserts, deletes, batches, ms, maxRss: process.resourceUsage().maxRSS * 1024 }) + "\\n");
`;

const QUICK = process.env["BENCH_QUICK"] === "1";
const RECORDS = integerFromEnvironment("BENCH_SYNC_RECORDS", QUICK ? 20_000 : 200_000);
const REFRESH_RECORDS = integerFromEnvironment("BENCH_SYNC_REFRESH_RECORDS", QUICK ? 5_000 : 20_000);
const problems: string[] = [];

interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The largest VmHWM seen (0 when the process ended before the first sample). */
  peak: number;
}

/** Runs a node child, sampling its peak RSS from /proc every 50 ms. */
async function runChild(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      peak = Math.max(peak, Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // The process has just exited.
    }
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(timer);
  return { code, stdout, stderr, ms: performance.now() - started, peak };
}

step("build (dist/cli.js)");
run("tsup", [], { quiet: true });
const dir = mkdtempSync(join(tmpdir(), "bench-sync-"));
const rows: string[] = [];
const result: Record<string, unknown> = { records: RECORDS, refreshRecords: REFRESH_RECORDS };
try {
  // 1. 200,000 records: the CLI, then the library alone.
  step(`a fast local server with ${grouped(RECORDS)} records`);
  const built = performance.now();
  const big = await startMovingServer({ seed: 20, records: RECORDS, fast: true });
  console.log(`built in ${((performance.now() - built) / 1000).toFixed(1)} s`);
  try {
    step(`export of ${grouped(RECORDS)} records (dist/cli.js export --json)`);
    const out = join(dir, "export.ndjson");
    const requestsBefore = big.requests;
    const cli = await runChild([join(root, "dist", "cli.js"), "export", "--account-token", TOKEN, "--out", out, "--base-url", big.url, "--json"], { MERGE_API_KEY: API_KEY });
    if (cli.code !== 0) throw new Error(`export exited ${cli.code}:\n${cli.stderr.slice(-2000)}`);
    const summary = JSON.parse(cli.stdout.trim().split("\n").at(-1) ?? "{}") as { pages: number; records: number; upserts: number; deletes: number; caughtUp: boolean; durationMs: number };
    const lines = readFileSync(out, "utf8").split("\n").length - 1;
    const bytes = statSync(out).size;
    const wallRate = summary.records / (cli.ms / 1000);
    const runRate = summary.records / (summary.durationMs / 1000);
    console.log(`exit ${cli.code}; ${grouped(summary.records)} records in ${grouped(summary.pages)} pages (${grouped(big.requests - requestsBefore)} requests), ${grouped(lines)} lines, ${mb(bytes)}`);
    console.log(`wall ${(cli.ms / 1000).toFixed(1)} s: ${grouped(wallRate)} records/s; in the run ${(summary.durationMs / 1000).toFixed(1)} s: ${grouped(runRate)} records/s; peak RSS ${mb(cli.peak)}`);
    rows.push(`| export (CLI, dist/cli.js) | ${grouped(summary.records)} | ${(cli.ms / 1000).toFixed(1)} s | ${grouped(wallRate)} | ${grouped(runRate)} | ${mb(cli.peak)} |`);
    result["cli"] = { records: summary.records, pages: summary.pages, lines, bytes, wallMs: Math.round(cli.ms), runMs: summary.durationMs, wallRecordsPerSecond: Math.round(wallRate), runRecordsPerSecond: Math.round(runRate), peakRssBytes: cli.peak };
    if (summary.records !== RECORDS || lines !== RECORDS || !summary.caughtUp) problems.push(`export: ${summary.records} records, ${lines} lines of ${RECORDS}, caughtUp ${summary.caughtUp}`);
    rmSync(out);

    step(`engagementChanges over ${grouped(RECORDS)} records, applied into a counter (a child process)`);
    const library = await runChild(["--input-type=module", "--eval", LIBRARY_WALK, root, big.url]);
    if (library.code !== 0) throw new Error(`the library walk exited ${library.code}:\n${library.stderr.slice(-2000)}`);
    const walk = JSON.parse(library.stdout.trim()) as { records: number; upserts: number; batches: number; ms: number; maxRss: number };
    const libraryRate = walk.records / (walk.ms / 1000);
    console.log(`${grouped(walk.records)} records in ${grouped(walk.batches)} batches, ${(walk.ms / 1000).toFixed(1)} s: ${grouped(libraryRate)} records/s; peak RSS ${mb(walk.maxRss)} (maxRSS; VmHWM ${mb(library.peak)})`);
    rows.push(`| engagementChanges (library) | ${grouped(walk.records)} | ${(library.ms / 1000).toFixed(1)} s | ${grouped(walk.records / (library.ms / 1000))} | ${grouped(libraryRate)} | ${mb(walk.maxRss)} |`);
    result["library"] = { records: walk.records, batches: walk.batches, runMs: Math.round(walk.ms), runRecordsPerSecond: Math.round(libraryRate), peakRssBytes: walk.maxRss };
    if (walk.records !== RECORDS || walk.upserts !== RECORDS) problems.push(`library: ${walk.records} records, ${walk.upserts} upserts of ${RECORDS}`);
  } finally {
    await big.close();
  }

  // 2. A refresh after 1% changed, against a full walk.
  const changed = Math.max(1, Math.round(REFRESH_RECORDS / 100));
  step(`refresh after ${grouped(changed)} of ${grouped(REFRESH_RECORDS)} records changed (1%)`);
  const small = await startMovingServer({ seed: 21, records: REFRESH_RECORDS, fast: true });
  try {
    const merge = createMergeCrmClient({ apiKey: API_KEY, accountToken: TOKEN, baseUrl: small.url });
    const copy = new Map<string, Engagement>();
    let checkpoint: string | null = null;
    let requests = small.requests;
    for await (const batch of engagementChanges(merge, { checkpoint })) {
      for (const change of batch.changes) (change.op === "upsert" ? copy.set(change.engagement.id as string, change.engagement) : copy.delete(change.id));
      checkpoint = batch.checkpoint;
    }
    const initialRequests = small.requests - requests;

    const modified = Math.round(changed * 0.75);
    const deleted = Math.round(changed * 0.125);
    small.change({ modify: modified, delete: deleted, create: changed - modified - deleted });
    requests = small.requests;
    let refreshRecords = 0;
    let refreshChanges = 0;
    const refreshStarted = performance.now();
    for await (const batch of engagementChanges(merge, { checkpoint })) {
      refreshRecords += batch.records;
      refreshChanges += batch.changes.length;
      for (const change of batch.changes) (change.op === "upsert" ? copy.set(change.engagement.id as string, change.engagement) : copy.delete(change.id));
      checkpoint = batch.checkpoint;
    }
    const refreshMs = performance.now() - refreshStarted;
    const refreshRequests = small.requests - requests;

    requests = small.requests;
    let fullRecords = 0;
    const fullStarted = performance.now();
    for await (const engagement of merge.engagements.listAll({ page_size: 100, include_deleted_data: true })) if (engagement.id !== undefined) fullRecords++;
    const fullMs = performance.now() - fullStarted;
    const fullRequests = small.requests - requests;

    const live = small.live();
    const equal = live.length === copy.size && live.every((engagement) => copy.get(engagement.id as string)?.modified_at === engagement.modified_at);
    console.log(`initial sync: ${grouped(initialRequests)} requests`);
    console.log(`refresh from the checkpoint: ${grouped(refreshRequests)} requests, ${grouped(refreshRecords)} records (${grouped(refreshChanges)} changes) in ${refreshMs.toFixed(0)} ms; the copy ${equal ? "equals" : "DIFFERS FROM"} the server's ${grouped(live.length)} records`);
    console.log(`listAll's full walk: ${grouped(fullRequests)} requests, ${grouped(fullRecords)} records in ${fullMs.toFixed(0)} ms (${(fullRequests / Math.max(1, refreshRequests)).toFixed(0)}x the refresh's requests)`);
    result["refresh"] = { changed, initialRequests, refreshRequests, refreshRecords, refreshMs: Math.round(refreshMs), fullWalkRequests: fullRequests, fullWalkRecords: fullRecords, fullWalkMs: Math.round(fullMs), copyEqualsServer: equal };
    if (!equal) problems.push("refresh: the copy is not equal to the server's records");
    if (refreshRequests >= fullRequests) problems.push(`refresh: ${refreshRequests} requests, not fewer than the full walk's ${fullRequests}`);

    console.log("\n| run | records | time | records/s (wall) | records/s (in the run) | peak RSS |");
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(row);
    console.log(`\n| after 1% of ${grouped(REFRESH_RECORDS)} changed | requests | records read | time |`);
    console.log("| --- | --- | --- | --- |");
    console.log(`| refresh from the checkpoint | ${grouped(refreshRequests)} | ${grouped(refreshRecords)} | ${refreshMs.toFixed(0)} ms |`);
    console.log(`| listAll full walk | ${grouped(fullRequests)} | ${grouped(fullRecords)} | ${fullMs.toFixed(0)} ms |`);
  } finally {
    await small.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${JSON.stringify({ bench: "sync", quick: QUICK, ...result, problems })}`);
if (problems.length > 0) {
  console.error(`bench:sync found problems:\n- ${problems.join("\n- ")}`);
  process.exitCode = 1;
}
