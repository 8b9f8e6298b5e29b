/**
 * Issue 11's pacing and failure-guard tests, short variants, run through the CLI (the library has the
 * long ones in test/bulk/): a local server that knows each linked account by its X-Account-Token.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { perMinute } from "../support/rates.js";
import { OPEN_META, runCli } from "./run-cli.js";

interface Arrival {
  at: number;
  account: string;
  status: number;
}

/**
 * Answers each write by its account: `answer(account)` gives the status (and Retry-After for 429).
 * Keeps every write's arrival.
 */
async function accountServer(answer: (account: string, now: number) => { status: number; retryAfter?: string }): Promise<{ url: string; arrivals: Arrival[]; server: Server }> {
  const arrivals: Arrival[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      if (request.method !== "POST") {
        response.writeHead(200, { "content-type": "application/json" }).end(OPEN_META);
        return;
      }
      const token = request.headers["x-account-token"];
      const account = typeof token === "string" ? token : "";
      const now = performance.now();
      const { status, retryAfter } = answer(account, now);
      arrivals.push({ at: now, account, status });
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (retryAfter !== undefined) headers["retry-after"] = retryAfter;
      const body = status === 201 ? { model: { id: crypto.randomUUID(), subject: "paced" }, warnings: [], errors: [] } : { detail: `status ${status}` };
      response.writeHead(status, headers).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals, server };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-pacing-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rows(name: string, perAccount: Record<string, number>): string {
  const lines: string[] = [];
  for (const [account, count] of Object.entries(perAccount)) {
    for (let i = 0; i < count; i++) lines.push(JSON.stringify({ model: { subject: `${account} ${i}` }, account_token: account, key: `${account}-${i}` }));
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

test("--rate 3000: two accounts × 300 rows each go at >= 95% of the rate with <= 1% 429s, while a third, always throttled, does not slow them", async () => {
  // Merge's side: 3,000 a minute per account (50 a second, bursts of 10); the third account always 429.
  const buckets = new Map<string, { tokens: number; at: number }>();
  const { url, arrivals, server } = await accountServer((account, now) => {
    if (account === "acct-throttled") return { status: 429, retryAfter: "1" };
    const bucket = buckets.get(account) ?? { tokens: 10, at: now };
    bucket.tokens = Math.min(10, bucket.tokens + ((now - bucket.at) * 50) / 1000);
    bucket.at = now;
    buckets.set(account, bucket);
    if (bucket.tokens < 1) return { status: 429, retryAfter: "1" };
    bucket.tokens -= 1;
    return { status: 201 };
  });
  try {
    const path = rows("paced.ndjson", { "acct-a": 300, "acct-b": 300, "acct-throttled": 5 });
    const journal = join(dir, "paced.journal");
    const run = await runCli(["import", path, "--journal", journal, "--base-url", url, "--rate", "3000", "--json"], { MERGE_API_KEY: "pacing-key" });
    const report: string[] = [];
    for (const account of ["acct-a", "acct-b"]) {
      const mine = arrivals.filter((arrival) => arrival.account === account);
      const created = mine.filter((arrival) => arrival.status === 201);
      const rate = perMinute(created.map((arrival) => arrival.at));
      const share429 = mine.filter((arrival) => arrival.status === 429).length / mine.length;
      report.push(`${account}: ${created.length} created at ${Math.round(rate)}/min, ${(share429 * 100).toFixed(2)}% 429`);
      expect(created).toHaveLength(300);
      expect(rate).toBeGreaterThanOrEqual(0.95 * 3000);
      expect(share429).toBeLessThanOrEqual(0.01);
    }
    const throttled = arrivals.filter((arrival) => arrival.account === "acct-throttled").length;
    process.stdout.write(`pacing (CLI): ${report.join("; ")}; throttled account: ${throttled} requests, all 429\n`);
    // The throttled account's rows end failed: exit 1, and status lists them.
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ created: 600, failed: 5 });
    const status = await runCli(["status", "--journal", journal, "--json"]);
    const failed = (JSON.parse(status.stdout) as { failed: { reason: string }[] }).failed;
    expect(failed).toHaveLength(5);
    expect(failed[0]?.reason).toMatch(/429/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}, 120_000);

test("a server answering 400 to every write: never more than 20 failing requests in any 10 s, the run ends by itself with exit 1, the rows recorded", async () => {
  const { url, arrivals, server } = await accountServer(() => ({ status: 400 }));
  try {
    const path = rows("refused.ndjson", { "acct-a": 200, "acct-b": 200 });
    const journal = join(dir, "refused.journal");
    const started = performance.now();
    const run = await runCli(["import", path, "--journal", journal, "--base-url", url, "--rate", "6000", "--concurrency", "64", "--json"], { MERGE_API_KEY: "guard-key" });
    const seconds = (performance.now() - started) / 1000;
    let worst = 0;
    for (const arrival of arrivals) worst = Math.max(worst, arrivals.filter((other) => other.at >= arrival.at && other.at < arrival.at + 10_000).length);
    const summary = JSON.parse(run.stdout) as { rejected: number; stopped?: string; exitCode: number };
    process.stdout.write(`failure guard (CLI): ${arrivals.length} failing requests, at most ${worst} in any 10 s; stopped "${summary.stopped ?? ""}" after ${seconds.toFixed(1)} s\n`);
    expect(worst).toBeLessThanOrEqual(20);
    expect(run.code).toBe(1);
    expect(summary.stopped).toBeDefined();
    expect(run.stderr).toMatch(/stopped \(/);
    // Every request sent is a row recorded as rejected (400: not retried), and status says so.
    const status = JSON.parse((await runCli(["status", "--journal", journal, "--json"])).stdout) as { counts: Record<string, number>; rejected: { reason: string }[] };
    expect(status.counts["rejected"]).toBe(arrivals.length);
    expect(status.rejected[0]?.reason).toMatch(/400/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}, 120_000);
