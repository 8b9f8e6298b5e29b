/**
 * The CLI as a user runs it: a child process against a real local server (or the embedded mock), its
 * exit codes, its output, the rejects file and the journal `status` reads.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OPEN_META, ROOT, runCli, startCli, useCliFixture } from "./run-cli.js";

const KEY = { MERGE_API_KEY: "cli-test-api-key" };
const TOKEN_A = "secret-token-of-account-a";
const TOKEN_B = "secret-token-of-account-b";

const { server, dir: tempDir } = useCliFixture("cli-");
let n = 0;

function file(name: string, text: string): string {
  n += 1;
  const path = join(tempDir(), `${n}-${name}`);
  writeFileSync(path, text);
  return path;
}
const posts = () => server.arrivals.filter((arrival) => arrival.method === "POST").length;
const ndjson = (rows: unknown[]) => `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`;

describe("usage and configuration errors exit 2 and name the flag or variable", () => {
  test.each([
    [[], "a command is required"],
    [["import"], "FILE"],
    [["import", "rows.csv", "--rate", "fast"], "--rate"],
    [["import", "rows.xml"], "--format"],
    [["import", "no-such-file.csv", "--base-url", "http://127.0.0.1:9"], "FILE: cannot read"],
    [["status"], "--journal"],
    [["status", "--journal", "no-such-journal"], "--journal: cannot read"],
  ])("%j", async (args, message) => {
    const run = await runCli(args, KEY);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  test("--base-url without MERGE_API_KEY", async () => {
    const run = await runCli(["import", "rows.csv", "--base-url", server.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/MERGE_API_KEY is not set/);
  });

  test("a CSV header naming an unknown column, before anything is sent", async () => {
    const path = file("typo.csv", "subjet,direction\nCall,OUTBOUND\n");
    const run = await runCli(["import", path, "--base-url", server.url], KEY);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown column 'subjet'");
    expect(server.arrivals).toHaveLength(0);
  });
});

test("a CSV quote left open further down: exit 2 naming the line, and whatever was written before it journaled for the rerun", async () => {
  const path = file("open-quote.csv", 'key,subject\nq1,One\nq2,Two\nq3,"Three\n');
  const journal = join(tempDir(), "open-quote.journal");
  const run = await runCli(["import", path, "--journal", journal, "--base-url", server.url, "--account-token", TOKEN_A], KEY);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/Quote Not Closed.*line 4/);
  expect(run.stderr).toContain(`status --journal ${journal}`);
  const status = JSON.parse((await runCli(["status", "--journal", journal, "--json"])).stdout) as { counts: Record<string, number> };
  expect(status.counts["created"]).toBe(server.stored.size);
});

test("a journal in use by another run: exit 2 naming --journal and the process, nothing sent", async () => {
  const path = file("locked.ndjson", ndjson([{ subject: "a" }]));
  const journal = join(tempDir(), "locked.journal");
  // This test process holds the lock, as a second run in another terminal would.
  writeFileSync(`${journal}.lock`, `${process.pid}\n`);
  const run = await runCli(["import", path, "--journal", journal, "--base-url", server.url, "--account-token", TOKEN_A], KEY);
  rmSync(`${journal}.lock`);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(new RegExp(`--journal: .*in use by process ${process.pid}`));
  expect(posts()).toBe(0);
});

test("--dry-run validates every row, writes the rejects file and sends no write", async () => {
  const path = file(
    "rows.csv",
    [
      "key,account_token,subject,direction,start_time,contacts",
      `a1,${TOKEN_A},Call,OUTBOUND,2026-01-01T10:00:00Z,`,
      `a2,${TOKEN_A},Meeting,INBOUND,,null`,
      `b1,${TOKEN_B},Email,SIDEWAYS,,`,
      `b2,${TOKEN_B},Too few cells`,
      `b3,${TOKEN_B},Note,,not a date,`,
    ].join("\n"),
  );
  const rejects = join(tempDir(), "dry-rejects.ndjson");
  const run = await runCli(["import", path, "--dry-run", "--rejects", rejects, "--base-url", server.url, "--json"], KEY);
  expect(run.code).toBe(1);
  expect(posts()).toBe(0);
  const summary = JSON.parse(run.stdout) as Record<string, unknown>;
  expect(summary).toMatchObject({ dryRun: true, rows: 5, valid: 1, rejected: 4, exitCode: 1 });
  const rejected = readFileSync(rejects, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { key: string; line: number; problems: { pointer: string }[] });
  expect(rejected.map((r) => [r.key, r.line]).sort()).toEqual([["a2", 3], ["b1", 4], ["b2", 5], ["b3", 6]]);
  expect(rejected.find((r) => r.key === "b1")?.problems.map((p) => p.pointer)).toContain("/model/direction");
  expect(rejected.find((r) => r.key === "a2")?.problems.map((p) => p.pointer)).toContain("/model/contacts");
  expect(run.stderr).toContain("dry run");
  for (const text of [run.stdout, run.stderr, readFileSync(rejects, "utf8")]) expect(text).not.toMatch(/secret-token/);
});

test("an import over two accounts: rows written, bad lines rejected by line, status lists them, a rerun sends nothing twice", async () => {
  const path = file(
    "rows.ndjson",
    [
      JSON.stringify({ model: { subject: "one", direction: "OUTBOUND" }, account_token: TOKEN_A, key: "r1" }),
      JSON.stringify({ model: { subject: "two" }, account_token: TOKEN_B, key: "r2" }),
      "{ not json",
      JSON.stringify({ model: { subject: "three", direction: "UPWARDS" }, account_token: TOKEN_B, key: "r4" }),
      JSON.stringify({ subject: "four, bare, the default account" }),
    ].join("\n"),
  );
  const journal = join(tempDir(), "two-accounts.journal");
  const rejects = join(tempDir(), "two-accounts.rejects");
  const args = ["import", path, "--journal", journal, "--rejects", rejects, "--base-url", server.url, "--account-token", TOKEN_A, "--json"];
  const first = await runCli(args, KEY);
  expect(first.code).toBe(1);
  expect(JSON.parse(first.stdout)).toMatchObject({ rows: 5, created: 3, rejected: 2, failed: 0, exitCode: 1 });
  expect(server.stored.size).toBe(3);
  expect(posts()).toBe(3);
  const rejected = readFileSync(rejects, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { key: string; line: number });
  expect(rejected.map((r) => r.line).sort()).toEqual([3, 4]);

  const status = await runCli(["status", "--journal", journal]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/created\s+3/);
  expect(status.stdout).toMatch(/rejected\s+2/);
  expect(status.stdout).toMatch(/^ {2}3\tline:3\t\(row\) is not valid JSON/m);
  expect(status.stdout).toMatch(/^ {2}4\tr4\t\/model\/direction /m);

  const again = await runCli(args, KEY);
  expect(again.code).toBe(1);
  // r4 was rejected in the first run: done before, and still a reject of this file (exit 1, in the rejects file).
  expect(JSON.parse(again.stdout)).toMatchObject({ rows: 5, created: 0, doneBefore: 4, rejected: 1, rejectedBefore: 1 });
  expect(again.stderr).toMatch(/done before\s+4\s+\(1 of them rejected in an earlier run\)/);
  expect(posts()).toBe(3);
  expect(readFileSync(rejects, "utf8").trim().split("\n")).toHaveLength(2);
  for (const text of [first.stdout, first.stderr, again.stderr, status.stdout, readFileSync(journal, "utf8")]) expect(text).not.toMatch(/secret-token/);
});

test("exit 0 when every row is written, and again when a rerun finds them done", async () => {
  const path = file("ok.ndjson", ndjson([{ subject: "a" }, { subject: "b" }, { subject: "c" }]));
  const journal = join(tempDir(), "ok.journal");
  const args = ["import", path, "--journal", journal, "--base-url", server.url];
  const run = await runCli(args, { ...KEY, MERGE_ACCOUNT_TOKEN: TOKEN_A });
  expect(run.code).toBe(0);
  expect(run.stderr).toMatch(/Import of .*ok\.ndjson done: 3 rows/);
  expect(run.stderr).toMatch(/created\s+3/);
  const rerun = await runCli(args, { ...KEY, MERGE_ACCOUNT_TOKEN: TOKEN_A });
  expect(rerun.code).toBe(0);
  expect(rerun.stderr).toMatch(/done before\s+3/);
  expect(server.stored.size).toBe(3);
});

test("Ctrl-C stops taking rows, lets the ones in flight finish, prints the summary and the command that resumes", async () => {
  const rows = Array.from({ length: 400 }, (_, i) => ({ model: { subject: `slow-${i}` }, key: `s${i}` }));
  const path = file("slow.ndjson", ndjson(rows));
  const journal = join(tempDir(), "slow.journal");
  const { child, done } = startCli(["import", path, "--journal", journal, "--base-url", server.url, "--account-token", TOKEN_A, "--rate", "1200"], KEY);
  while (server.stored.size < 20) await new Promise((resolve) => setTimeout(resolve, 10));
  child.kill("SIGINT");
  const run = await done;
  expect(run.code).toBe(130);
  expect(run.stderr).toContain("Stopping");
  expect(run.stderr).toMatch(/stopped by Ctrl-C: \d+ of about 400 rows/);
  const resume = /Resume with:\n {2}(.+)\n/.exec(run.stderr)?.[1] ?? "";
  expect(resume).toContain(`--journal ${journal}`);
  expect(resume).toContain('--account-token "$MERGE_ACCOUNT_TOKEN"');
  expect(run.stderr).not.toContain(TOKEN_A);
  expect(existsSync(`${journal}.lock`)).toBe(false);
  const storedAtStop = server.stored.size;
  expect(storedAtStop).toBeLessThan(400);

  // The printed command, run as printed (the bin's name is this repository's source here).
  const words = resume.split(" ").slice(1).map((word) => (word === '"$MERGE_ACCOUNT_TOKEN"' ? TOKEN_A : word));
  const resumed = await runCli([...words.slice(0, words.indexOf("--rate") + 1), "60000", ...words.slice(words.indexOf("--rate") + 2)], KEY);
  expect(resumed.code).toBe(0);
  expect(server.stored.size).toBe(400);
  expect(resumed.stderr).toMatch(new RegExp(`done before\\s+${storedAtStop}`));
}, 60_000);

test("a second Ctrl-C exits at once, and the journal is still readable", async () => {
  const rows = Array.from({ length: 300 }, (_, i) => ({ model: { subject: `twice-${i}` }, key: `t${i}` }));
  const path = file("twice.ndjson", ndjson(rows));
  const journal = join(tempDir(), "twice.journal");
  // Every write hangs: the first Ctrl-C would wait for them; the second does not.
  server.reset([], (url) => (url.includes("/meta/") ? { status: 200, body: OPEN_META } : "hang"));
  const { child, done } = startCli(["import", path, "--journal", journal, "--base-url", server.url, "--account-token", TOKEN_A], KEY);
  // A new account has one write in flight until one succeeds (its probation): one hanging write.
  while (posts() < 1) await new Promise((resolve) => setTimeout(resolve, 10));
  child.kill("SIGINT");
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stoppedAt = performance.now();
  child.kill("SIGINT");
  const run = await done;
  expect(run.code).toBe(130);
  expect(performance.now() - stoppedAt).toBeLessThan(2000);
  const status = await runCli(["status", "--journal", journal, "--json"]);
  expect(status.code).toBe(0);
}, 30_000);

test("without MERGE_API_KEY the example file is imported into the embedded mock, which the CLI announces", async () => {
  const journal = join(tempDir(), "demo.journal");
  const rejects = join(tempDir(), "demo.rejects");
  const run = await runCli(["import", join(ROOT, "examples/engagements.csv"), "--journal", journal, "--rejects", rejects, "--json"]);
  expect(run.stderr).toContain("embedded Prism mock");
  expect(run.code).toBe(1);
  expect(JSON.parse(run.stdout)).toMatchObject({ rows: 6, created: 5, rejected: 1 });
  const [reject] = readFileSync(rejects, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { key: string; line: number; problems: { pointer: string }[] });
  expect(reject?.key).toBe("crm-2003");
  expect(reject?.problems.map((p) => p.pointer)).toEqual(expect.arrayContaining(["/model/direction"]));
}, 60_000);
