/**
 * `export` as a user runs it (issue 20): a child process against the embedded mock (no MERGE_API_KEY,
 * no --base-url) or a local server serving pages, its exit codes, its stdout and stderr, the NDJSON it
 * appends to --out and the state beside it. The moving-data server and the kill -9 test are elsewhere
 * (test/sync/).
 */
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Behaviour } from "../support/fake-merge.js";
import { runCli, startCli, useCliFixture } from "./run-cli.js";

const KEY = { MERGE_API_KEY: "cli-test-api-key" };
const TOKEN = "secret-token-of-the-exported-account";

const { server, dir: tempDir } = useCliFixture("cli-export-");
let n = 0;
/** A fresh --out path (and its default state path). */
function outFile(name: string): { out: string; state: string } {
  n += 1;
  if (tempDir() === "") throw new Error("outFile: the fixture's folder does not exist yet (call it in a test or a hook)");
  const out = join(tempDir(), `${n}-${name}.ndjson`);
  return { out, state: `${out}.state.json` };
}

interface Line {
  op: "upsert" | "delete";
  id: string;
  modified_at: string | null;
  engagement?: { id: string; subject?: string };
}
/** Every line of --out, parsed; the file must end with "\n" (no torn line). */
function linesOf(path: string): Line[] {
  const text = readFileSync(path, "utf8");
  if (text === "") return [];
  expect(text.endsWith("\n")).toBe(true);
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line) as Line);
}
function stateOf(path: string): { version: number; checkpoint: string; walkDone: boolean; outBytes: number } {
  return JSON.parse(readFileSync(path, "utf8")) as { version: number; checkpoint: string; walkDone: boolean; outBytes: number };
}

/** A local server's answers to GET /crm/v1/engagements: `pages` pages of `size` engagements, by cursor. */
function pagedAccount(pages: number, size: number, override: (page: number) => Behaviour | undefined = () => undefined): (url: string) => Behaviour {
  return (url) => {
    const cursor = new URL(url, "http://localhost").searchParams.get("cursor");
    const page = cursor === null ? 0 : Number(cursor.replace("page-", ""));
    const special = override(page);
    if (special !== undefined) return special;
    const results = Array.from({ length: size }, (_, i) => {
      const k = page * size + i;
      return {
        id: `00000000-0000-4000-8000-${String(k).padStart(12, "0")}`,
        modified_at: new Date(Date.UTC(2024, 0, 1) + k * 1000).toISOString(),
        subject: `engagement ${k}`,
        remote_was_deleted: k % 10 === 9,
      };
    });
    return { status: 200, body: JSON.stringify({ next: page + 1 < pages ? `page-${page + 1}` : null, previous: null, results }) };
  };
}
const listCalls = () => server.arrivals.filter((arrival) => arrival.method === "GET" && arrival.url.startsWith("/crm/v1/engagements"));

describe("usage and configuration errors exit 2, name the flag and write nothing", () => {
  test.each([
    [["--account-token", TOKEN], "--out"],
    [["--out", "OUT"], "--account-token"],
    [["--account-token", TOKEN, "--out", "OUT", "--region", "eu", "--base-url", "http://127.0.0.1:9"], "--region and --base-url cannot be used together"],
    [["--account-token", TOKEN, "--out", "OUT", "--since", "last tuesday"], "--since"],
    [["--account-token", TOKEN, "--out", "OUT", "--journal", "j"], "--journal is an option of import and status, not export"],
  ])("%j", async (args, message) => {
    const { out } = outFile("usage");
    const run = await runCli(["export", ...args.map((arg) => (arg === "OUT" ? out : arg))], KEY);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
    expect(run.stderr).not.toContain(TOKEN);
  });

  test("a state file that is not one: exit 2 naming --state, --out untouched", async () => {
    const { out, state } = outFile("bad-state");
    writeFileSync(out, '{"op":"delete","id":"x","modified_at":null}\n');
    writeFileSync(state, "not json");
    const run = await runCli(["export", "--account-token", TOKEN, "--out", out, "--base-url", server.url], KEY);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--state:");
    expect(readFileSync(out, "utf8")).toBe('{"op":"delete","id":"x","modified_at":null}\n');
    expect(listCalls()).toHaveLength(0);
  });
});

describe("against the embedded mock (no MERGE_API_KEY, no --base-url)", () => {
  // Set once the fixture's folder exists (beforeAll), shared by the run and its rerun.
  let out = "";
  let state = "";
  let args: string[] = [];
  let firstBytes = "";
  beforeAll(() => {
    ({ out, state } = outFile("mock"));
    args = ["export", "--account-token", TOKEN, "--out", out, "--json"];
  });

  test("writes NDJSON lines and the state, exits 0, and prints only the --json summary on stdout", async () => {
    const run = await runCli(args);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("embedded Prism mock");
    expect(run.stderr).toMatch(/caught up: 1 page, 1 record/);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    expect(Object.keys(summary).sort()).toEqual(["caughtUp", "deletes", "durationMs", "out", "pages", "records", "state", "upserts"]);
    expect(summary).toMatchObject({ pages: 1, records: 1, caughtUp: true, out, state });
    expect(summary["upserts"] as number + (summary["deletes"] as number)).toBe(1);
    expect(typeof summary["durationMs"]).toBe("number");

    // The spec's example engagement (remote_was_deleted: true).
    const lines = linesOf(out);
    expect(lines).toEqual([{ op: "delete", id: "550e8400-e29b-41d4-a716-446655440000", modified_at: "2021-10-16T00:00:00Z" }]);
    const saved = stateOf(state);
    expect(Object.keys(saved).sort()).toEqual(["checkpoint", "outBytes", "version", "walkDone"]);
    expect(saved).toMatchObject({ version: 1, walkDone: true });
    expect(typeof saved.checkpoint).toBe("string");
    expect(saved.outBytes).toBe(statSync(out).size);
    for (const text of [run.stdout, run.stderr, readFileSync(out, "utf8"), readFileSync(state, "utf8")]) expect(text).not.toContain(TOKEN);
    expect(existsSync(`${out}.lock`)).toBe(false);
    firstBytes = readFileSync(out, "utf8");
  }, 30_000);

  test("a torn last line is cut on the rerun; what was there stays, the file stays valid NDJSON, --since is ignored with a note", async () => {
    expect(firstBytes).not.toBe("");
    appendFileSync(out, '{"op":"ups');
    const run = await runCli([...args, "--since", "2024-01-01"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/cut a torn last line \(10 bytes/);
    expect(run.stderr).toMatch(/--since 2024-01-01 is ignored/);
    const text = readFileSync(out, "utf8");
    expect(text.startsWith(firstBytes)).toBe(true);
    const lines = linesOf(out);
    // The rerun reads after the checkpoint; the mock answers its one page again (a harmless repeat).
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.op === "delete" || line.op === "upsert")).toBe(true);
    expect(stateOf(state).outBytes).toBe(statSync(out).size);
    expect(JSON.parse(run.stdout)).toMatchObject({ pages: 1, records: 1, caughtUp: true });
  }, 30_000);
});

test("many pages from a server: one line per change in order, and --state never covers more than --out holds while it runs", async () => {
  const PAGES = 40;
  const SIZE = 25;
  server.reset([], pagedAccount(PAGES, SIZE));
  const { out, state } = outFile("paged");
  const { child, done } = startCli(["export", "--account-token", TOKEN, "--out", out, "--base-url", server.url, "--json"], KEY);
  let samples = 0;
  let running = true;
  void done.then(() => (running = false));
  while (running) {
    // The state first, then the size: --out only grows, so a state ahead of it would show here.
    if (existsSync(state)) {
      let saved;
      try {
        saved = stateOf(state);
      } catch {
        throw new Error("--state was read half-written: it must be replaced by a rename");
      }
      expect(saved.outBytes).toBeLessThanOrEqual(statSync(out).size);
      samples += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const run = await done;
  expect(child.exitCode).toBe(0);
  expect(run.code).toBe(0);
  expect(samples).toBeGreaterThan(0);
  expect(JSON.parse(run.stdout)).toEqual({ pages: PAGES, records: PAGES * SIZE, upserts: PAGES * SIZE * 0.9, deletes: PAGES * SIZE * 0.1, caughtUp: true, durationMs: expect.any(Number), out, state });
  const lines = linesOf(out);
  expect(lines).toHaveLength(PAGES * SIZE);
  lines.forEach((line, k) => {
    expect(line.id).toBe(`00000000-0000-4000-8000-${String(k).padStart(12, "0")}`);
    expect(line.op).toBe(k % 10 === 9 ? "delete" : "upsert");
    expect(line.modified_at).toBe(new Date(Date.UTC(2024, 0, 1) + k * 1000).toISOString());
    if (line.op === "upsert") expect(line.engagement).toMatchObject({ id: line.id, subject: `engagement ${k}` });
  });
  expect(stateOf(state).outBytes).toBe(statSync(out).size);
  expect(listCalls()).toHaveLength(PAGES);
  expect(listCalls().every((call) => new URL(call.url, "http://localhost").searchParams.get("include_deleted_data") === "true")).toBe(true);
}, 30_000);

test("an API error (401) is exit 1, with the --json summary; nothing is written past what the state covers", async () => {
  server.reset([], pagedAccount(5, 10, (page) => (page === 2 ? { status: 401, body: JSON.stringify({ detail: "Invalid account token." }) } : undefined)));
  const { out, state } = outFile("denied");
  const run = await runCli(["export", "--account-token", TOKEN, "--out", out, "--base-url", server.url, "--json"], KEY);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/failed: .*401/);
  expect(run.stderr).toContain('--account-token "$MERGE_ACCOUNT_TOKEN"');
  expect(JSON.parse(run.stdout)).toMatchObject({ pages: 2, records: 20, caughtUp: false });
  expect(linesOf(out)).toHaveLength(20);
  expect(stateOf(state).outBytes).toBe(statSync(out).size);
  for (const text of [run.stdout, run.stderr, readFileSync(out, "utf8"), readFileSync(state, "utf8")]) expect(text).not.toContain(TOKEN);
}, 30_000);

test("Ctrl-C while a page is awaited: exit 130, the state saved, the command to resume printed; running it continues from the next page", async () => {
  let hang = true;
  server.reset([], pagedAccount(4, 10, (page) => (page === 2 && hang ? "hang" : undefined)));
  const { out, state } = outFile("interrupted");
  const args = ["export", "--account-token", TOKEN, "--out", out, "--base-url", server.url];
  const { child, done } = startCli(args, KEY);
  while (listCalls().length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
  child.kill("SIGINT");
  const run = await done;
  expect(run.code).toBe(130);
  expect(run.stderr).toContain("Stopping (Ctrl-C)");
  expect(run.stderr).toMatch(/stopped by Ctrl-C: 2 pages, 20 records/);
  expect(run.stderr).not.toContain(TOKEN);
  expect(linesOf(out)).toHaveLength(20);
  expect(stateOf(state)).toMatchObject({ walkDone: false, outBytes: statSync(out).size });
  expect(existsSync(`${out}.lock`)).toBe(false);
  const resume = /Resume with:\n {2}(.+)\n/.exec(run.stderr)?.[1] ?? "";
  expect(resume).toContain('--account-token "$MERGE_ACCOUNT_TOKEN"');
  expect(resume).toContain(`--out ${out}`);

  // The printed command, run as printed (the token put back as the shell would).
  hang = false;
  const before = listCalls().length;
  const words = resume.split(" ").slice(1).map((word) => (word === '"$MERGE_ACCOUNT_TOKEN"' ? TOKEN : word));
  const resumed = await runCli([...words, "--json"], KEY);
  expect(resumed.code).toBe(0);
  // The walk it resumed began in the first run: it is finished (pages 2 and 3), then one more walk,
  // begun in this run, reads what changed meanwhile (this server ignores modified_after: all 4 pages).
  expect(JSON.parse(resumed.stdout)).toMatchObject({ pages: 6, records: 60, caughtUp: true });
  const query = (i: number) => new URL(listCalls()[before + i]?.url ?? "", "http://localhost").searchParams;
  expect([0, 1, 2].map((i) => query(i).get("cursor"))).toEqual(["page-2", "page-3", null]);
  expect(query(2).get("modified_after")).not.toBeNull();
  const lines = linesOf(out);
  expect(lines).toHaveLength(80);
  expect(new Set(lines.slice(0, 40).map((line) => line.id)).size).toBe(40);
  const saved = stateOf(state);
  expect(saved).toMatchObject({ walkDone: true, outBytes: statSync(out).size });
}, 30_000);
