/**
 * `openEngagementMirror` on PGlite (on disk) and on a real Postgres: the sync writes each page with its
 * checkpoint, the table's live rows equal the server's engagements, webhooks apply newer-wins (late,
 * repeated, reordered, a deletion never undone by an older upsert), a rerun with nothing changed costs
 * a couple of requests, and one PGlite directory is one process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMergeCrmClient, type Engagement } from "../../src/index.js";
import { MergeMirrorConfigError, openEngagementMirror, type EngagementMirror } from "../../src/mirror/index.js";
import type { MergeWebhookEvent } from "../../src/webhooks/index.js";
import { usePostgres } from "../support/postgres.js";
import { startMovingServer, type MovingServer } from "../sync/moving-server.js";

const TOKEN = "mirror-test-account-token";
const postgres = usePostgres();
let databases = 0;
/** A new database on the test's Postgres server, for one test. */
async function freshDatabase(): Promise<string> {
  const { Pool } = await import("pg");
  const pool = new Pool({ connectionString: postgres().url });
  const name = `mirror_${++databases}`;
  await pool.query(`CREATE DATABASE ${name}`);
  await pool.end();
  return postgres().url.replace(/\/postgres$/, `/${name}`);
}
let dir: string;
let server: MovingServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mirror-test-"));
  server = await startMovingServer({ seed: 4242, records: 260, moves: { modify: 0, delete: 0, create: 0 }, faultRate: 0 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = () => createMergeCrmClient({ apiKey: "sk_mirror", baseUrl: server.url, maxRetries: 5, initialRetryDelayMs: 10, logger: {} });

type Live = { id: string; modified_at: string };
async function liveRows(mirror: EngagementMirror): Promise<Live[]> {
  const rows = await mirror.query<{ id: string; modified_at: Date | string }>(
    "SELECT id::text AS id, modified_at FROM merge_engagements WHERE deleted_at IS NULL AND NOT remote_was_deleted ORDER BY id",
  );
  return rows.map((row) => ({ id: row.id, modified_at: new Date(row.modified_at).toISOString() }));
}
const serverLive = (): Live[] =>
  server
    .live()
    .map((e) => ({ id: e.id ?? "", modified_at: e.modified_at ?? "" }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

function event(name: "Engagement.added" | "Engagement.changed" | "Engagement.removed", data: Engagement, account: string): MergeWebhookEvent {
  return {
    hook: { id: "hook", event: name, target: "https://example.com/hooks" },
    linked_account: { id: account, integration: "HubSpot", integration_slug: "hubspot", category: "crm", end_user_origin_id: "o", end_user_organization_name: "Org", end_user_email_address: "a@example.com", status: "COMPLETE", webhook_listener_url: "https://example.com", is_duplicate: null },
    data,
  };
}

describe.each(["pglite", "postgres"] as const)("on %s", (kind) => {
  let mirror: EngagementMirror;
  beforeEach(async () => {
    const database = kind === "pglite" ? join(dir, `db-${++databases}`) : await freshDatabase();
    mirror = await openEngagementMirror({ client: client(), database });
  });
  afterEach(() => mirror.close());

  test("a sync writes the server's engagements; each page's checkpoint is in the table; a rerun with nothing changed costs a couple of requests", async () => {
    expect(mirror.kind).toBe(kind);
    const first = await mirror.sync({ accountToken: TOKEN });
    const total = server.all().length;
    expect(first).toMatchObject({ pages: Math.ceil(total / 100), records: total, changed: total, caughtUp: true });
    expect(first.upserts + first.deletions).toBe(total);
    expect(await liveRows(mirror)).toEqual(serverLive());
    const state = await mirror.query<{ linked_account_id: string; caught_up: boolean }>("SELECT linked_account_id, caught_up FROM merge_sync_state");
    expect(state).toEqual([{ linked_account_id: first.linkedAccountId, caught_up: true }]);
    expect(JSON.stringify(await mirror.query("SELECT * FROM merge_sync_state"))).not.toContain(TOKEN);

    server.change({ modify: 3, delete: 2, create: 1 });
    const before = server.requests;
    const second = await mirror.sync({ accountToken: TOKEN });
    expect(server.requests - before).toBeLessThanOrEqual(2);
    expect(second.caughtUp).toBe(true);
    expect(await liveRows(mirror)).toEqual(serverLive());
    const deleted = await mirror.query<{ n: string | number }>("SELECT count(*) AS n FROM merge_engagements WHERE remote_was_deleted AND deleted_at IS NOT NULL");
    expect(Number(deleted[0]?.n)).toBe(server.all().length - server.live().length);

    const quiet = server.requests;
    const third = await mirror.sync({ accountToken: TOKEN });
    expect(third.changed).toBe(0);
    expect(server.requests - quiet).toBeLessThanOrEqual(2);
  });

  test("webhooks: newer wins; a late, repeated or reordered event changes nothing; a deletion stays deleted", async () => {
    const account = await mirror.linkedAccountId(TOKEN);
    const base = server.live()[0];
    if (!base?.id) throw new Error("no record");
    const at = (ms: number) => new Date(Date.parse(base.modified_at ?? "") + ms).toISOString();
    const v1 = { ...base, subject: "v1", modified_at: at(1_000) };
    const v2 = { ...base, subject: "v2", modified_at: at(2_000) };
    const v3 = { ...base, subject: "v3", modified_at: at(3_000) };
    const row = async () => (await mirror.query<{ subject: string; deleted: boolean; source: string }>("SELECT data->>'subject' AS subject, deleted_at IS NOT NULL AS deleted, source FROM merge_engagements WHERE id = $1", [base.id]))[0];

    expect((await mirror.apply(event("Engagement.changed", v2, account))).outcome).toBe("applied");
    expect((await mirror.apply(event("Engagement.changed", v1, account))).outcome).toBe("unchanged"); // late
    expect((await mirror.apply(event("Engagement.changed", v2, account))).outcome).toBe("unchanged"); // repeated: the same version
    expect(await row()).toEqual({ subject: "v2", deleted: false, source: "webhook" });
    // The sync brings an older version (its page was read before the change): kept out.
    await mirror.sync({ accountToken: TOKEN });
    expect((await row())?.subject).toBe("v2");

    expect((await mirror.apply(event("Engagement.removed", v3, account))).outcome).toBe("applied");
    expect((await mirror.apply(event("Engagement.changed", v2, account))).outcome).toBe("unchanged"); // older upsert: no resurrection
    expect((await mirror.apply(event("Engagement.changed", v3, account))).outcome).toBe("unchanged"); // same instant: the deletion stays
    expect((await mirror.apply(event("Engagement.removed", v3, account))).outcome).toBe("unchanged"); // repeated deletion
    expect(await row()).toMatchObject({ deleted: true });
    expect((await liveRows(mirror)).map((r) => r.id)).not.toContain(base.id);
    const later = { ...base, subject: "restored", modified_at: at(4_000) };
    expect((await mirror.apply(event("Engagement.changed", later, account))).outcome).toBe("applied");
    expect(await row()).toEqual({ subject: "restored", deleted: false, source: "webhook" });

    // Reordered: every order of the same events leaves the same row.
    const id2 = server.live()[1];
    if (!id2?.id) throw new Error("no record");
    const versions = [1, 2, 3].map((n) => ({ ...id2, subject: `s${n}`, modified_at: new Date(Date.parse(id2.modified_at ?? "") + n * 1000).toISOString() }));
    const orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0, 0, 1]];
    for (const order of orders) {
      for (const index of order) await mirror.apply(event("Engagement.changed", versions[index] ?? id2, `${account}-order-${orders.indexOf(order)}`));
    }
    const subjects = await mirror.query<{ subject: string }>("SELECT data->>'subject' AS subject FROM merge_engagements WHERE id = $1 AND linked_account_id LIKE '%-order-%'", [id2.id]);
    expect(subjects.map((s) => s.subject)).toEqual(["s3", "s3", "s3"]);
    expect((await mirror.apply({ ...event("Engagement.added", id2, account), hook: { id: "h", event: "LinkedAccount.synced", target: "t" } })).outcome).toBe("ignored");
  });
});

test("one PGlite directory is one process: a second mirror on it is refused with a clear message, and may open once the first closes", async () => {
  const path = join(dir, "locked");
  const first = await openEngagementMirror({ client: client(), database: path });
  await expect(openEngagementMirror({ client: client(), database: path })).rejects.toThrow(MergeMirrorConfigError);
  await expect(openEngagementMirror({ client: client(), database: path })).rejects.toThrow(/open in another process .*one process per directory/);
  await first.close();
  const again = await openEngagementMirror({ client: client(), database: path });
  await again.close();
});

test("a Postgres that cannot be reached is a MergeMirrorConfigError naming the database without its password", async () => {
  const { freeLoopbackPort } = await import("../support/loopback.js");
  const port = await freeLoopbackPort(); // nothing listens there
  const attempt = openEngagementMirror({ client: client(), database: `postgres://mirror:s3cret-pass@127.0.0.1:${port}/engagements` });
  await expect(attempt).rejects.toThrow(MergeMirrorConfigError);
  const error = (await attempt.catch((caught: unknown) => caught)) as Error;
  expect(error.message).toContain(`postgres://mirror:***@127.0.0.1:${port}/engagements`);
  expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain("s3cret-pass");
});
