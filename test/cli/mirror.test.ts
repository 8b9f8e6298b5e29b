/**
 * `mirror` as a user runs it: a child process against the moving fake Merge (standing still here) with
 * --base-url, into a PGlite directory, read afterwards by the test once the CLI has closed it (one
 * process per directory). One directory serves the whole file: PGlite's first open of a new one takes
 * seconds. One run goes into a real Postgres (test/support/postgres.ts) given as a postgres:// URL.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommand } from "../../src/cli/args.js";
import { createMergeCrmClient, type Engagement } from "../../src/index.js";
import { openEngagementMirror } from "../../src/mirror/index.js";
import { MERGE_WEBHOOK_SIGNATURE_HEADER, signMergeWebhook } from "../../src/webhooks/index.js";
import { usePostgres } from "../support/postgres.js";
import { startMovingServer, type MovingServer } from "../sync/moving-server.js";
import { runCli, startCli, usageErrorOf, type CliRun } from "./run-cli.js";

const TOKEN = "secret-token-of-the-mirrored-account";
const WEBHOOK_KEY = "mirror-cli-webhook-signature-key";
const ENV = { MERGE_API_KEY: "cli-mirror-api-key" };

let server: MovingServer;
let dir = "";
let db = "";
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-mirror-"));
  db = join(dir, "db");
  server = await startMovingServer({ seed: 7, records: 230, moves: { modify: 0, delete: 0, create: 0 }, faultRate: 0 });
  // A few deleted records, so the first sync reads deletions too.
  server.change({ delete: 5 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const mirrorArgs = (...more: string[]) => ["mirror", "--account-token", TOKEN, "--db", db, "--base-url", server.url, ...more];

/** The directory's rows, read by the test itself once no CLI holds it. */
async function rowsOf(database: string): Promise<{ live: { id: string; subject: unknown }[]; all: number; text: string }> {
  const mirror = await openEngagementMirror({ client: createMergeCrmClient({ apiKey: "unused", baseUrl: server.url }), database });
  try {
    const rows = await mirror.query<{ id: string; data: Engagement; live: boolean }>(
      "SELECT id::text AS id, data, (deleted_at IS NULL AND NOT remote_was_deleted) AS live FROM merge_engagements ORDER BY id",
    );
    const state = await mirror.query("SELECT * FROM merge_sync_state");
    return { live: rows.filter((row) => row.live).map((row) => ({ id: row.id, subject: row.data.subject })), all: rows.length, text: JSON.stringify([rows, state]) };
  } finally {
    await mirror.close();
  }
}
const serverLive = () =>
  server
    .live()
    .map((e) => ({ id: e.id ?? "", subject: e.subject }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

/** Resolves with the CLI's stderr so far once it matches `pattern`. */
function stderrMatching(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} on stderr within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (pattern.test(text)) {
        clearTimeout(timer);
        child.stderr?.off("data", onData);
        resolve(text);
      }
    };
    child.stderr?.on("data", onData);
  });
}

/** A delivery of an engagement event, signed with `key`, POSTed to the CLI. */
async function deliver(port: number, name: "Engagement.added" | "Engagement.changed" | "Engagement.removed", data: Engagement, linkedAccountId: string, key = WEBHOOK_KEY): Promise<Response> {
  const body = JSON.stringify({
    hook: { id: "hook", event: name, target: `http://127.0.0.1:${port}/merge` },
    linked_account: { id: linkedAccountId, integration: "HubSpot", integration_slug: "hubspot", category: "crm", end_user_origin_id: "o", end_user_organization_name: "Org", end_user_email_address: "a@example.com", status: "COMPLETE", webhook_listener_url: "https://example.com", is_duplicate: null },
    data,
  });
  return fetch(`http://127.0.0.1:${port}/merge/any-path`, { method: "POST", body, headers: { "content-type": "application/json", [MERGE_WEBHOOK_SIGNATURE_HEADER]: await signMergeWebhook(body, key) } });
}

describe("usage and configuration errors exit 2 and name the flag", () => {
  test.each([
    [["mirror", "--db", "DB"], {}, "--account-token"],
    [["mirror", "--account-token", TOKEN, "--db", "DB", "--listen", "0"], {}, "MERGE_WEBHOOK_KEY is not set"],
  ])("as a process: %j", async (args, env, message) => {
    const run = await runCli(
      args.map((arg) => (arg === "DB" ? join(dir, "never") : arg)),
      { ...ENV, ...env },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toContain(TOKEN);
    expect(run.stdout).toBe("");
  });

  test.each([
    [["--every", "5x"], {}, "--every must be a duration such as 30s, 5m or 1h (got '5x')"],
    [["--every", "0s"], {}, "--every must be a duration"],
    [["--every", "90"], {}, "--every must be a duration"],
    [["--listen", "http"], { MERGE_WEBHOOK_KEY: WEBHOOK_KEY }, "--listen must be a port number"],
    [["--listen", "70000"], { MERGE_WEBHOOK_KEY: WEBHOOK_KEY }, "--listen must be a port number"],
    [["--db", ""], {}, "--db must be a directory"],
    [["--account-token", ""], {}, "--account-token is empty"],
    [["--out", "x"], {}, "--out is an option of export, not mirror"],
    [["--region", "eu", "--base-url", "http://127.0.0.1:9"], { MERGE_API_KEY: "k" }, "--region and --base-url cannot be used together"],
  ])("%j", (args, env, message) => {
    expect(usageErrorOf(["mirror", "--account-token", TOKEN, ...args], env)).toContain(message);
  });

  test("--account-token repeats for mirror; import, enqueue and export still take the last one given", () => {
    expect(parseCommand(["mirror", "--account-token", "a", "--account-token", "b", "--account-token", "a"], {})).toMatchObject({ accountTokens: ["a", "b"], database: "./merge-mirror" });
    expect(parseCommand(["export", "--account-token", "a", "--account-token", "b", "--out", "o.ndjson"], {})).toMatchObject({ accountToken: "b" });
    expect(parseCommand(["import", "rows.csv", "--account-token", "a", "--account-token", "b"], {})).toMatchObject({ accountToken: "b", accountTokenFromFlag: true });
    expect(parseCommand(["enqueue", "rows.csv", "--redis", "redis://localhost", "--account-token", "a", "--account-token", "b"], { MERGE_QUEUE_SECRET: "0123456789abcdef" })).toMatchObject({ accountToken: "b" });
    expect(parseCommand(["mirror", "--account-token", "a", "--every", "5m", "--db", "postgres://u:p@h/db"], {})).toMatchObject({ every: { text: "5m", ms: 300_000 }, database: "postgres://u:p@h/db" });
  });
});

describe("into a PGlite directory (the tests run in order, on one directory)", () => {
  let linkedAccountId = "";

  test("one run syncs every engagement and exits 0; the table's live rows are the server's; --json is one summary line", async () => {
    const run = await runCli(mirrorArgs("--json"), ENV);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0] ?? "") as { accounts: Record<string, unknown>[] } & Record<string, unknown>;
    expect(Object.keys(summary).sort()).toEqual(["accounts", "caughtUp", "database", "durationMs", "kind"]);
    expect(summary).toMatchObject({ database: db, kind: "pglite", caughtUp: true });
    const total = server.all().length;
    expect(summary.accounts).toHaveLength(1);
    const account = summary.accounts[0] ?? {};
    expect(Object.keys(account).sort()).toEqual(["caughtUp", "changed", "deletions", "failures", "linkedAccountId", "pages", "records", "syncs", "upserts"]);
    expect(account).toMatchObject({ syncs: 1, failures: 0, pages: Math.ceil(total / 100), records: total, changed: total, caughtUp: true });
    expect((account["upserts"] as number) + (account["deletions"] as number)).toBe(total);
    expect(account["deletions"]).toBeGreaterThan(0);
    linkedAccountId = String(account["linkedAccountId"]);
    expect(linkedAccountId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.stderr).toContain(`linked account ${linkedAccountId}: 3 pages, ${total} records`);
    expect(run.stderr).toMatch(/Mirror into .* up to date: 1 sync of 1 linked account/);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);

    const rows = await rowsOf(db);
    expect(rows.live).toEqual(serverLive());
    expect(rows.all).toBe(total);
    expect(rows.text).not.toContain(TOKEN);
  });

  test("a rerun with nothing changed changes nothing; after changes, it writes just those", async () => {
    const again = await runCli(mirrorArgs("--json"), ENV);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ caughtUp: true, accounts: [{ linkedAccountId, changed: 0, caughtUp: true }] });
    expect(again.stderr).toContain("0 changed, caught up");

    server.change({ modify: 3, delete: 1, create: 2 });
    const after = await runCli(mirrorArgs(), ENV);
    expect(after.code).toBe(0);
    expect(after.stdout).toBe("");
    expect(after.stderr).toMatch(/, 6 changed, caught up/);
    expect((await rowsOf(db)).live).toEqual(serverLive());
  });

  test("--every 1s --listen: syncs again and again, refuses a second process on the directory (exit 2), applies a signed webhook, refuses a bad one, and exits 0 on SIGTERM", async () => {
    const { child, done } = startCli(mirrorArgs("--every", "1s", "--listen", "0"), { ...ENV, MERGE_WEBHOOK_KEY: WEBHOOK_KEY });
    try {
      const started = await stderrMatching(child, /\(sync 2\)/);
      const port = Number(/webhooks on port (\d+)/.exec(started)?.[1]);
      expect(port).toBeGreaterThan(0);

      const second = await runCli(mirrorArgs(), ENV);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/--db: the PGlite database .* is open in another process \(pid \d+\)/);

      const [target, other] = server.live();
      if (!target || !other) throw new Error("the server has no engagements");
      const newer = { ...target, subject: "Changed by a webhook", modified_at: new Date().toISOString() };
      const applied = await deliver(port, "Engagement.changed", newer, linkedAccountId);
      expect(applied.status).toBe(200);
      const repeated = await deliver(port, "Engagement.changed", newer, linkedAccountId);
      expect(repeated.status).toBe(200);
      const forged = await deliver(port, "Engagement.changed", { ...other, subject: "Forged", modified_at: new Date().toISOString() }, linkedAccountId, "not-the-webhook-key");
      expect(forged.status).toBe(401);

      child.kill("SIGTERM");
      const run: CliRun = await done;
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("Stopping (SIGTERM)");
      expect(run.stderr).toMatch(/Mirror into .* stopped by SIGTERM: \d+ syncs of 1 linked account/);
      expect(run.stderr).toContain("webhooks: applied 1 · unchanged 1 · ignored 0 · refused 1");
      expect(run.stderr).not.toContain(TOKEN);
      expect(run.stderr).not.toContain(WEBHOOK_KEY);

      const rows = await rowsOf(db);
      expect(rows.live.find((row) => row.id === target.id)?.subject).toBe("Changed by a webhook");
      expect(rows.live.find((row) => row.id === other.id)?.subject).toBe(other.subject);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("--listen without --every: keeps receiving after the first sync; a webhook answered 2xx is committed (there after kill -9)", async () => {
    const { child, done } = startCli(mirrorArgs("--listen", "0"), { ...ENV, MERGE_WEBHOOK_KEY: WEBHOOK_KEY });
    try {
      const started = await stderrMatching(child, /receiving webhooks until/);
      const port = Number(/webhooks on port (\d+)/.exec(started)?.[1]);
      const [, , target] = server.live();
      if (!target) throw new Error("the server has no engagements");
      const removed = await deliver(port, "Engagement.removed", { ...target, modified_at: new Date().toISOString() }, linkedAccountId);
      expect(removed.status).toBe(200);
      // Killed at once after the answer: what was answered 2xx must already be in the directory.
      child.kill("SIGKILL");
      expect((await done).signal).toBe("SIGKILL");
      const rows = await rowsOf(db);
      expect(rows.live.some((row) => row.id === target.id)).toBe(false);
      expect(rows.all).toBe(server.all().length);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("into Postgres (a postgres:// URL)", () => {
  const postgres = usePostgres();

  test("one run syncs every engagement and exits 0; the URL's password is shown as ***; a rerun changes nothing", async () => {
    // Trust authentication: the password is never asked for, only carried in the URL.
    const url = postgres().url.replace("postgres@", "postgres:pg-secret-password@");
    const run = await runCli(["mirror", "--account-token", TOKEN, "--db", url, "--base-url", server.url, "--json"], ENV);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ kind: "postgres", caughtUp: true, accounts: [{ records: server.all().length, caughtUp: true }] });
    expect(summary["database"]).toContain(":***@");
    expect(run.stdout + run.stderr).not.toContain("pg-secret-password");
    expect(run.stderr).toContain("(postgres)");
    expect((await rowsOf(url)).live).toEqual(serverLive());

    const again = await runCli(["mirror", "--account-token", TOKEN, "--db", url, "--base-url", server.url, "--json"], ENV);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ accounts: [{ changed: 0, caughtUp: true }] });
  });
});
