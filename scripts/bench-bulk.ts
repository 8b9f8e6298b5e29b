/**
 * npm run bench:bulk: the CLI at scale (issue 11), as built (dist/cli.js), in a process of its own.
 * 1. `--dry-run` over 1,000,000 generated NDJSON rows: rows/s and peak RSS (targets: >= 20,000 rows/s,
 *    < 200 MB).
 * 2. Real imports of 20,000 and 100,000 rows into a fast local server: RSS from 10% to 95% of each
 *    run. Flat means memory does not follow the row count: the 100,000-row run peaks at most 20 MB
 *    above the 20,000-row run (RSS samples within one run are noisy: V8 grows its heap to a working
 *    size over the first ~20,000 rows and gives pages back when it likes).
 * RSS is read from /proc/<pid>/status (VmRSS, and VmHWM for the peak) every 50 ms. BENCH_DRY_ROWS,
 * BENCH_REAL_ROWS and BENCH_LONG_ROWS change the sizes. Exits 1 when a target is missed.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { integerFromEnvironment } from "../test/setup/prism.js";
import { root, run, step } from "./lib.js";

const DRY_ROWS = integerFromEnvironment("BENCH_DRY_ROWS", 1_000_000);
const REAL_ROWS = integerFromEnvironment("BENCH_REAL_ROWS", 20_000);
const LONG_ROWS = integerFromEnvironment("BENCH_LONG_ROWS", 100_000);
const ACCOUNTS = 4;
const MB = 1024 * 1024;

const META = JSON.stringify({
  request_schema: { type: "object", properties: { model: { type: "object", required: ["subject"] } } },
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: false,
  remote_fields: [],
});

/** A fast local Merge: 201 for every write, the meta above for meta/post. Counts writes. */
async function startServer(): Promise<{ url: string; writes: () => number; close: () => Promise<void> }> {
  let writes = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      if (request.method === "POST") {
        writes += 1;
        response.writeHead(201, { "content-type": "application/json" });
        response.end(JSON.stringify({ model: { id: randomUUID(), subject: "bench" }, warnings: [], errors: [] }));
      } else {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(META);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    writes: () => writes,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Writes `rows` NDJSON rows over ACCOUNTS linked accounts, each with its own key. */
async function generate(path: string, rows: number): Promise<number> {
  const out = createWriteStream(path);
  let chunk = "";
  for (let i = 0; i < rows; i++) {
    const model = { subject: `Call ${i}`, content: "Follow-up about the renewal; notes in the CRM.", direction: "OUTBOUND", start_time: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString() };
    chunk += `${JSON.stringify({ model, account_token: `bench-account-${i % ACCOUNTS}`, key: `row-${i}` })}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      chunk = "";
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return out.bytesWritten;
}

interface Sample {
  at: number;
  rss: number;
  hwm: number;
}

/** Runs the built CLI, sampling its memory; `mark` is called on each sample to label moments. */
async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; samples: Sample[]; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, "dist", "cli.js"), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const samples: Sample[] = [];
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
      samples.push({ at: performance.now() - started, rss: kb("VmRSS"), hwm: kb("VmHWM") });
    } catch {
      // The process has just exited.
    }
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(timer);
  return { code, stdout, stderr, samples, ms: performance.now() - started };
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const problems: string[] = [];

step("build (dist/cli.js)");
run("tsup", [], { quiet: true });
const dir = mkdtempSync(join(tmpdir(), "bench-bulk-"));
const server = await startServer();
try {
  step(`generate ${DRY_ROWS.toLocaleString("en-US")} NDJSON rows`);
  const dryFile = join(dir, "dry.ndjson");
  const bytes = await generate(dryFile, DRY_ROWS);
  console.log(`${dryFile}: ${mb(bytes)}`);

  step(`--dry-run over ${DRY_ROWS.toLocaleString("en-US")} rows`);
  const dry = await runCli(["import", dryFile, "--dry-run", "--base-url", server.url, "--json"], { MERGE_API_KEY: "bench-key" });
  if (dry.code !== 0) throw new Error(`the dry run exited ${dry.code}:\n${dry.stderr.slice(-2000)}`);
  const drySummary = JSON.parse(dry.stdout) as { rows: number; valid: number; rejected: number; durationMs: number };
  const peak = Math.max(0, ...dry.samples.map((s) => s.hwm));
  const rowsPerSecond = drySummary.rows / (dry.ms / 1000);
  const rowsPerSecondInRun = drySummary.rows / (drySummary.durationMs / 1000);
  console.log(`exit ${dry.code}; ${drySummary.rows.toLocaleString("en-US")} rows (${drySummary.valid.toLocaleString("en-US")} valid, ${drySummary.rejected} rejected)`);
  console.log(`wall ${(dry.ms / 1000).toFixed(1)} s (process start to exit, pre-count included): ${Math.round(rowsPerSecond).toLocaleString("en-US")} rows/s`);
  console.log(`bulkCreate ${(drySummary.durationMs / 1000).toFixed(1)} s: ${Math.round(rowsPerSecondInRun).toLocaleString("en-US")} rows/s`);
  console.log(`peak RSS (VmHWM) ${mb(peak)}; RSS at 25/50/75/95% of the run: ${[0.25, 0.5, 0.75, 0.95].map((f) => mb(dry.samples[Math.min(dry.samples.length - 1, Math.floor(f * dry.samples.length))]?.rss ?? 0)).join(" / ")}`);
  if (dry.code !== 0) problems.push(`the dry run exited ${dry.code}: ${dry.stderr.slice(-500)}`);
  if (drySummary.rows !== DRY_ROWS) problems.push(`the dry run settled ${drySummary.rows} rows of ${DRY_ROWS}`);
  if (rowsPerSecond < 20_000) problems.push(`the dry run validated ${Math.round(rowsPerSecond)} rows/s (target >= 20,000)`);
  if (peak >= 200 * MB) problems.push(`the dry run peaked at ${mb(peak)} RSS (target < 200 MB)`);
  rmSync(dryFile);

  // 20,000 rows take about 10 s, in which V8's heap is still growing to its working size; the longer
  // run shows where RSS settles, and is the one held to "flat".
  const peaks: number[] = [];
  for (const rows of [REAL_ROWS, LONG_ROWS]) {
    step(`a real import of ${rows.toLocaleString("en-US")} rows into a fast local server`);
    const realFile = join(dir, `real-${rows}.ndjson`);
    await generate(realFile, rows);
    const writesBefore = server.writes();
    const real = await runCli(
      ["import", realFile, "--journal", join(dir, `real-${rows}.journal`), "--base-url", server.url, "--rate", "600000", "--concurrency", "64", "--json"],
      { MERGE_API_KEY: "bench-key" },
    );
    if (real.code !== 0) throw new Error(`the real run of ${rows} rows exited ${real.code}:\n${real.stderr.slice(-2000)}`);
    const realSummary = JSON.parse(real.stdout) as { rows: number; created: number; failed: number; rejected: number; durationMs: number };
    console.log(`exit ${real.code}; ${realSummary.created.toLocaleString("en-US")} created, ${realSummary.failed} failed, ${realSummary.rejected} rejected; server saw ${(server.writes() - writesBefore).toLocaleString("en-US")} writes`);
    console.log(`${(realSummary.durationMs / 1000).toFixed(1)} s: ${Math.round(realSummary.rows / (realSummary.durationMs / 1000)).toLocaleString("en-US")} rows/s`);
    const at = (f: number) => real.samples[Math.min(real.samples.length - 1, Math.floor(f * real.samples.length))]?.rss ?? 0;
    console.log(`RSS at 10/25/50/75/95% of the run: ${[0.1, 0.25, 0.5, 0.75, 0.95].map((f) => mb(at(f))).join(" / ")}; peak ${mb(Math.max(0, ...real.samples.map((s) => s.hwm)))}`);
    if (real.code !== 0 || realSummary.created !== rows) problems.push(`the real run of ${rows} rows exited ${real.code} with ${realSummary.created} created`);
    peaks.push(Math.max(0, ...real.samples.map((s) => s.hwm)));
    rmSync(realFile);
  }
  const [shortPeak = 0, longPeak = 0] = peaks;
  console.log(`peak RSS: ${mb(shortPeak)} for ${REAL_ROWS.toLocaleString("en-US")} rows, ${mb(longPeak)} for ${LONG_ROWS.toLocaleString("en-US")} rows`);
  if (longPeak - shortPeak > 20 * MB) problems.push(`peak RSS grew by ${mb(longPeak - shortPeak)} from ${REAL_ROWS} to ${LONG_ROWS} rows (flat: at most 20 MB)`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`bench:bulk missed its targets:\n- ${problems.join("\n- ")}`);
  process.exitCode = 1;
} else {
  console.log("bench:bulk met its targets");
}
