/**
 * The mirror under chaos, on PGlite and on Postgres: a process of its own (mirror-process.ts) syncs a
 * moving server (moving-server.ts: changes behind the cursor, deletions, a clock 90 s behind, 500s and
 * 429s) every 200 ms, while webhooks for the same changes reach it late, repeated, reordered, and some
 * never (a delivery that fails, the process being dead, is retried as Merge retries, or given up). The
 * process is killed with SIGKILL several times and started again; on Postgres the server is killed
 * (SIGKILL, a crash) and restarted once while the process runs, which survives it: its syncs and
 * applies fail meanwhile (the webhooks' retries cover the applies). The last run receives webhooks
 * only. Then the server freezes, the webhooks stop, and before any sync mends it, no webhook the process
 * answered 200 is lost or undone in the table (a row older than it, or live at the instant of its
 * deletion): the final sync would hide that, as it reads again all that changed inside its margin.
 * Last, a final sync in this process leaves the table's live rows equal to the server's engagements:
 * 0 missing, 0 stale, 0 resurrected.
 *
 * Short by default (300 records, 3 kills); `npm run test:mirror:chaos` runs 2,000 records and 10 kills.
 * MIRROR_CHAOS_SEED replays a run (the seed is printed), MIRROR_CHAOS_KILLS and MIRROR_CHAOS_RECORDS
 * change the sizes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { createMergeCrmClient, type Engagement } from "../../src/index.js";
import { openEngagementMirror, type EngagementMirror } from "../../src/mirror/index.js";
import { signMergeWebhook } from "../../src/webhooks/index.js";
import { cliEnv, ROOT } from "../cli/run-cli.js";
import { accountIdOf } from "../support/fake-merge.js";
import { usePostgres } from "../support/postgres.js";
import { seeded } from "../support/seeded.js";
import { startMovingServer, type MovingServer } from "../sync/moving-server.js";

const KILLS = Number(process.env["MIRROR_CHAOS_KILLS"] ?? 3);
const RECORDS = Number(process.env["MIRROR_CHAOS_RECORDS"] ?? 300);
const SEED = Number(process.env["MIRROR_CHAOS_SEED"] ?? Date.now() % 100_000);
const DRIVER = fileURLToPath(new URL("./mirror-process.ts", import.meta.url));
const API_KEY = "sk_mirror_chaos";
const TOKEN = "mirror-chaos-account-token";
const WEBHOOK_KEY = "mirror-chaos-webhook-key";
const ACCOUNT = accountIdOf(TOKEN);

const postgres = usePostgres();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mirror-chaos-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One run of the mirror process: its port once ready, how it ended, the last lines it printed. */
interface Driver {
  child: ChildProcess;
  ready: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail: string[];
  /** Milliseconds from the spawn to `ready` (tsx, opening the database, its recovery after a kill). */
  readyMs: number;
  counts: { synced: number; syncFailed: number; applied: number; unchanged: number; webhookFailed: number };
}

function startDriver(database: string, server: MovingServer, sync: boolean): Driver {
  const child = spawn(process.execPath, ["--import", "tsx", DRIVER, "--db", database, "--base-url", server.url, "--account-token", TOKEN, "--every-ms", sync ? "200" : "0"], {
    cwd: ROOT,
    env: cliEnv({ MERGE_WEBHOOK_KEY: WEBHOOK_KEY, MERGE_API_KEY: API_KEY }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const counts = { synced: 0, syncFailed: 0, applied: 0, unchanged: 0, webhookFailed: 0 };
  const spawned = performance.now();
  const driver: Driver = { child, ready: Promise.resolve(0), exited: Promise.resolve({ code: null, signal: null }), tail, readyMs: 0, counts };
  let markReady: (port: number) => void = () => {};
  const ready = new Promise<number>((resolve) => (markReady = resolve));
  let pending = "";
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const port = /^ready (\d+)$/.exec(line);
      if (port) {
        driver.readyMs = Math.round(performance.now() - spawned);
        markReady(Number(port[1]));
      }
      else if (line.startsWith("synced ")) counts.synced++;
      else if (line.startsWith("sync failed")) counts.syncFailed++;
      else if (line.endsWith(" applied")) counts.applied++;
      else if (line.endsWith(" unchanged")) counts.unchanged++;
      else if (line.startsWith("webhook failed")) counts.webhookFailed++;
      if (!line.startsWith("webhook Engagement")) keep(line);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => keep(`stderr: ${chunk.toString("utf8").trim()}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  driver.ready = ready;
  driver.exited = exited;
  return driver;
}

type Kind = "create" | "modify" | "delete";
const EVENT_OF: Record<Kind, "Engagement.added" | "Engagement.changed" | "Engagement.removed"> = { create: "Engagement.added", modify: "Engagement.changed", delete: "Engagement.removed" };

/**
 * Merge's side of the webhooks: one event per change, signed, sent to the mirror process's current
 * port. Some never (10%), some twice or three times (20%), some seconds late (25%), the rest within
 * 300 ms, so they arrive out of order. A failed delivery (refused, reset, not 200) is retried with
 * backoff up to 6 times, or given up (10% after each failure).
 */
function webhookSender(rand: () => number) {
  let port: number | undefined;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  /** Per id, the newest version the mirror process answered 200 for: it must never hold an older one. */
  const acknowledged = new Map<string, { ms: number; deleted: boolean }>();
  const stats = { events: 0, never: 0, repeated: 0, late: 0, deliveries: 0, ok: 0, failed: 0, retried: 0, givenUp: 0, abandonedAtStop: 0 };

  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) work();
    }, ms);
    timers.add(timer);
  };

  async function attempt(body: string, signature: string, tries: number, version: { id: string; ms: number; deleted: boolean }): Promise<void> {
    stats.deliveries++;
    let ok = false;
    if (port !== undefined) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/webhooks/merge`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", "x-merge-webhook-signature": signature },
          signal: AbortSignal.timeout(5_000),
        });
        await response.arrayBuffer();
        ok = response.status === 200;
      } catch {
        // Refused or reset: the process was killed.
      }
    }
    if (ok) {
      stats.ok++;
      const known = acknowledged.get(version.id);
      if (!known || version.ms > known.ms || (version.ms === known.ms && version.deleted)) acknowledged.set(version.id, version);
      return;
    }
    stats.failed++;
    if (tries >= 6 || rand() < 0.1) {
      stats.givenUp++;
      return;
    }
    stats.retried++;
    later(Math.min(2_000, 150 * 2 ** tries), () => send(body, signature, tries + 1, version));
  }

  function send(body: string, signature: string, tries: number, version: { id: string; ms: number; deleted: boolean }): void {
    const delivery = attempt(body, signature, tries, version).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  }

  return {
    stats,
    acknowledged,
    /** Where the mirror process listens now; `undefined` while it is down. */
    set port(value: number | undefined) {
      port = value;
    },
    enqueue(kind: Kind, engagement: Engagement): void {
      if (stopped) return;
      stats.events++;
      if (rand() < 0.1) {
        stats.never++;
        return;
      }
      const event = {
        hook: { id: randomUUID(), event: EVENT_OF[kind], target: "https://mirror.example.com/webhooks/merge" },
        linked_account: { id: ACCOUNT, integration: "HubSpot", integration_slug: "hubspot", category: "crm", end_user_origin_id: "org-1", end_user_organization_name: "Org", end_user_email_address: "admin@example.com", status: "COMPLETE", webhook_listener_url: "https://mirror.example.com/webhooks/merge", is_duplicate: null },
        data: engagement,
      };
      const body = JSON.stringify(event);
      const version = { id: engagement.id ?? "", ms: Date.parse(engagement.modified_at ?? ""), deleted: kind === "delete" };
      const copies = rand() < 0.2 ? 2 + Math.floor(rand() * 2) : 1;
      if (copies > 1) stats.repeated++;
      void signMergeWebhook(body, WEBHOOK_KEY).then((signature) => {
        for (let copy = 0; copy < copies; copy++) {
          const late = rand() < 0.25;
          if (late) stats.late++;
          later(late ? 1_000 + rand() * 3_000 : rand() * 300, () => send(body, signature, 0, version));
        }
      });
    },
    /** No more deliveries: those waiting are dropped (never delivered), those on the wire finish. */
    async stop(): Promise<void> {
      stopped = true;
      stats.abandonedAtStop = timers.size;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...inFlight]);
    },
  };
}

interface Row {
  id: string;
  modified_at: string;
  subject: string | null;
}

async function liveRows(mirror: EngagementMirror): Promise<Row[]> {
  const rows = await mirror.query<{ id: string; modified_at: Date | string; subject: string | null }>(
    "SELECT id::text AS id, modified_at, data->>'subject' AS subject FROM merge_engagements WHERE deleted_at IS NULL AND NOT remote_was_deleted ORDER BY id",
  );
  return rows.map((row) => ({ id: row.id, modified_at: new Date(row.modified_at).toISOString(), subject: row.subject }));
}

function serverRows(server: MovingServer): Row[] {
  return server
    .live()
    .map((e) => ({ id: e.id ?? "", modified_at: e.modified_at ?? "", subject: e.subject ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Missing: live on the server, not in the table; stale: in both, another version; resurrected: live in the table, deleted on the server; unknown: ids the server never had. */
function compare(rows: Row[], server: MovingServer): { missing: number; stale: number; resurrected: number; unknown: number } {
  const want = new Map(serverRows(server).map((row) => [row.id, row]));
  const deleted = new Set(server.all().filter((e) => e.remote_was_deleted).map((e) => e.id));
  const have = new Map(rows.map((row) => [row.id, row]));
  let stale = 0;
  let resurrected = 0;
  let unknown = 0;
  for (const [id, row] of have) {
    const wanted = want.get(id);
    if (wanted) {
      if (wanted.modified_at !== row.modified_at || wanted.subject !== row.subject) stale++;
    } else if (deleted.has(id)) resurrected++;
    else unknown++;
  }
  const missing = [...want.keys()].filter((id) => !have.has(id)).length;
  return { missing, stale, resurrected, unknown };
}

/**
 * The acknowledged webhooks the table no longer reflects: the row missing (a 200 for an event not
 * committed), older than the version acknowledged (an older one written over it), or live at the instant
 * of an acknowledged deletion (an upsert of the same instant undid it).
 */
async function undoneAcknowledgements(mirror: EngagementMirror, acknowledged: ReadonlyMap<string, { ms: number; deleted: boolean }>): Promise<string[]> {
  const rows = await mirror.query<{ id: string; modified_at: Date | string; deleted: boolean }>(
    "SELECT id::text AS id, modified_at, (deleted_at IS NOT NULL OR remote_was_deleted) AS deleted FROM merge_engagements",
  );
  const held = new Map(rows.map((row) => [row.id, { ms: new Date(row.modified_at).getTime(), deleted: row.deleted }]));
  const undone: string[] = [];
  for (const [id, version] of acknowledged) {
    const row = held.get(id);
    if (!row) undone.push(`${id}: missing`);
    else if (row.ms < version.ms) undone.push(`${id}: ${new Date(row.ms).toISOString()} older than ${new Date(version.ms).toISOString()} acknowledged`);
    else if (row.ms === version.ms && version.deleted && !row.deleted) undone.push(`${id}: live at the instant of its acknowledged deletion`);
  }
  return undone;
}

const client = (server: MovingServer) => createMergeCrmClient({ apiKey: API_KEY, baseUrl: server.url, maxRetries: 5, initialRetryDelayMs: 20, logger: {} });

describe.each(["pglite", "postgres"] as const)("on %s", (kind) => {
  test(`${RECORDS} records moving, webhooks late, repeated, reordered and lost, the mirror process killed ${KILLS} times${kind === "postgres" ? ", Postgres crashed and restarted once" : ""}: after a final sync the live rows are the server's`, async () => {
    const started = performance.now();
    const seed = SEED + (kind === "postgres" ? 1 : 0);
    process.stdout.write(`mirror chaos (${kind}): seed ${seed} (MIRROR_CHAOS_SEED=${SEED} replays)\n`);
    const rand = seeded(seed ^ 0x5eed);
    const sender = webhookSender(seeded(seed ^ 0xbeef));
    const server = await startMovingServer({
      seed,
      records: RECORDS,
      apiKey: API_KEY,
      accountToken: TOKEN,
      lagMs: 90_000,
      faultRate: 0.1,
      retryAfter: ["0", "1"],
      onChange: ({ kind: change, engagement }) => sender.enqueue(change, engagement),
    });
    let database: string;
    if (kind === "pglite") database = join(dir, `pglite-${seed}`);
    else {
      const { Pool } = await import("pg");
      const pool = new Pool({ connectionString: postgres().url });
      await pool.query(`CREATE DATABASE mirror_chaos_${seed}`);
      await pool.end();
      database = postgres().url.replace(/\/postgres$/, `/mirror_chaos_${seed}`);
    }

    // Changes besides those the syncs' requests cause, while the process is down too.
    const ticker = setInterval(() => server.change({ modify: 1, delete: 0.15, create: 0.25 }), 150);
    const runs: string[] = [];
    const crashes: string[] = [];
    const totals = { synced: 0, syncFailed: 0, applied: 0, unchanged: 0, webhookFailed: 0 };
    let driver: Driver | undefined;
    let killedByUs = false;
    const launch = async (sync: boolean) => {
      const run = startDriver(database, server, sync);
      killedByUs = false;
      void run.exited.then((end) => {
        if (!killedByUs || end.signal !== "SIGKILL") crashes.push(`run ${runs.length + 1} ended by itself (${end.signal ?? `exit ${end.code}`}): ${run.tail.join(" | ")}`);
      });
      const waiting = new AbortController();
      const port = await Promise.race([run.ready, run.exited.then(() => undefined), sleep(30_000, undefined, { signal: waiting.signal }).then(() => undefined, () => undefined)]);
      waiting.abort();
      if (port === undefined) throw new Error(`the mirror process did not start: ${run.tail.join(" | ")}`);
      sender.port = port;
      driver = run;
    };
    const kill = async (why: string) => {
      const run = driver;
      if (!run) return;
      killedByUs = true;
      sender.port = undefined;
      run.child.kill("SIGKILL");
      await run.exited;
      for (const [name, n] of Object.entries(run.counts)) totals[name as keyof typeof totals] += n;
      runs.push(`${why} (ready ${run.readyMs} ms after its start): ${run.counts.synced} syncs (${run.counts.syncFailed} failed), ${run.counts.applied}+${run.counts.unchanged} webhooks applied+unchanged`);
      driver = undefined;
    };

    let postgresCrash = "";
    try {
      await launch(true);
      const crashAt = Math.floor(rand() * KILLS);
      for (let k = 0; k < KILLS; k++) {
        const runMs = 1_200 + Math.floor(rand() * 2_500);
        if (kind === "postgres" && k === crashAt) {
          const before = Math.floor(runMs / 2);
          await sleep(before);
          await postgres().kill();
          const downMs = 300 + Math.floor(rand() * 700);
          await sleep(downMs);
          await postgres().restart();
          postgresCrash = `Postgres killed ${before} ms into run ${k + 1}, down ${downMs} ms`;
          await sleep(runMs - before);
        } else await sleep(runMs);
        await kill(`run ${k + 1} killed after ${runMs} ms`);
        await sleep(Math.floor(rand() * 500));
        // The last run receives webhooks only: late, repeated and retried deliveries land, and no sync
        // mends what one of them might undo, for the check of acknowledged webhooks below.
        await launch(k < KILLS - 1);
      }
      await sleep(2_500);
    } finally {
      clearInterval(ticker);
      server.freeze();
      server.faults(0);
      await sender.stop();
      await kill("the last run (webhooks only) stopped");
    }

    // The final sync, in this process (for PGlite, only now that the mirror process is gone).
    const mirror = await openEngagementMirror({ client: client(server), database });
    let before: ReturnType<typeof compare>;
    let undone: string[];
    let after: ReturnType<typeof compare>;
    let rows: Row[];
    let sources: { source: string; n: string | number }[];
    try {
      before = compare(await liveRows(mirror), server);
      undone = await undoneAcknowledgements(mirror, sender.acknowledged);
      const final = await mirror.sync({ accountToken: TOKEN });
      expect(final.caughtUp).toBe(true);
      rows = await liveRows(mirror);
      after = compare(rows, server);
      sources = await mirror.query<{ source: string; n: string | number }>("SELECT source, count(*) AS n FROM merge_engagements GROUP BY source ORDER BY source");
    } finally {
      await mirror.close();
      await server.close();
    }
    const s = sender.stats;
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `mirror chaos (${kind}, seed ${seed}): ${RECORDS} records, ${KILLS} kills${postgresCrash ? `, ${postgresCrash}` : ""}; ` +
        `${server.moves.modified} modified, ${server.moves.deleted} deleted, ${server.moves.created} created; ${server.requests} requests; ` +
        `${totals.synced} syncs (${totals.syncFailed} failed); webhooks: ${s.events} events (${s.never} never, ${s.repeated} repeated, ${s.late} late copies), ` +
        `${s.deliveries} deliveries (${s.ok} ok, ${s.failed} failed, ${s.retried} retried, ${s.givenUp} given up, ${s.abandonedAtStop} dropped at the stop), ` +
        `${totals.applied} applied, ${totals.unchanged} unchanged, ${totals.webhookFailed} answered 5xx; rows by source ${sources.map((r) => `${r.source} ${r.n}`).join(", ")}; ` +
        `${sender.acknowledged.size} ids with an acknowledged webhook, ${undone.length} of them lost or undone; before the final sync ${before.missing} missing, ${before.stale} stale, ${before.resurrected} resurrected; ` +
        `after it ${after.missing} missing, ${after.stale} stale, ${after.resurrected} resurrected, ${after.unknown} unknown; ${seconds.toFixed(1)} s\n`,
    );
    for (const run of runs) process.stdout.write(`  ${run}\n`);

    const context = `seed ${seed} (MIRROR_CHAOS_SEED=${SEED})`;
    expect({ context, crashes }).toEqual({ context, crashes: [] });
    // Newer wins, and a 200 means committed: the final sync would mend an older version put back (it
    // reads again what changed inside its margin), so this is checked before it.
    expect({ context, undone: undone.slice(0, 5) }).toEqual({ context, undone: [] });
    expect({ context, ...after }).toEqual({ context, missing: 0, stale: 0, resurrected: 0, unknown: 0 });
    expect(rows).toEqual(serverRows(server));
    expect(s.ok).toBeGreaterThan(0);
    expect(totals.synced).toBeGreaterThan(0);
  }, 60_000 + KILLS * 15_000 + RECORDS * 30);
});
