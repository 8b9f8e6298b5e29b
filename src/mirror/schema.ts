/**
 * The mirror's tables, created and migrated on first use (versioned in `merge_mirror_migrations`), and
 * the statements that write them: plain parameterized SQL that PGlite and Postgres both run.
 *
 * `merge_engagements` is a contract (users' queries read it): one row per (linked account, engagement),
 * `data` the engagement as Merge answered it, live when `deleted_at IS NULL AND NOT remote_was_deleted`.
 * `merge_sync_state` holds each linked account's checkpoint, written in the transaction of the rows it
 * covers.
 */
import type { SqlRunner, MirrorDatabase } from "./database.js";

/** Each version's statements, in order; a version once released is never edited, only followed. */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE merge_engagements (
      linked_account_id text NOT NULL,
      id uuid NOT NULL,
      modified_at timestamptz,
      remote_was_deleted boolean NOT NULL DEFAULT false,
      deleted_at timestamptz,
      data jsonb NOT NULL,
      source text NOT NULL CHECK (source IN ('sync', 'webhook')),
      PRIMARY KEY (linked_account_id, id)
    )`,
    `CREATE INDEX merge_engagements_modified_at ON merge_engagements (linked_account_id, modified_at)`,
    `CREATE TABLE merge_sync_state (
      linked_account_id text PRIMARY KEY,
      checkpoint text NOT NULL,
      caught_up boolean NOT NULL,
      synced_at timestamptz NOT NULL DEFAULT now()
    )`,
  ],
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Creates or migrates the tables; several processes may do it at once (Postgres: an advisory lock). */
export async function migrate(db: MirrorDatabase): Promise<number> {
  return db.transaction(async (tx) => {
    if (db.kind === "postgres") await tx.query("SELECT pg_advisory_xact_lock(8123456789)");
    await tx.query("CREATE TABLE IF NOT EXISTS merge_mirror_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    const { rows } = await tx.query<{ version: number | null }>("SELECT max(version) AS version FROM merge_mirror_migrations");
    const current = Number(rows[0]?.version ?? 0);
    if (current > SCHEMA_VERSION) {
      throw new Error(`the mirror's tables are at version ${current}, newer than this package's ${SCHEMA_VERSION}: upgrade merge-crm-engagements`);
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version - 1] ?? []) await tx.query(statement);
      await tx.query("INSERT INTO merge_mirror_migrations (version) VALUES ($1)", [version]);
    }
    return SCHEMA_VERSION;
  });
}

/** One version of an engagement to write: an upsert (the engagement) or a deletion (a tombstone). */
export interface RowVersion {
  id: string;
  /** Merge's `modified_at` of this version (`null` when a deletion did not say). */
  modified_at: string | null;
  remote_was_deleted: boolean;
  /** Set for a deletion: when it happened (its `modified_at`, else the time it was applied). */
  deleted: boolean;
  data: unknown;
}

/**
 * Newer wins: a row is replaced only by a version with a later or equal `modified_at`; at an equal
 * time a deletion stays deleted (an upsert of the same instant does not resurrect it), and the same
 * version read again changes nothing (so `changed` counts real changes). A deletion that did not say
 * when applies to a row not yet deleted.
 */
const NEWER_WINS = `
  e.modified_at IS NULL
  OR EXCLUDED.modified_at > e.modified_at
  OR (EXCLUDED.modified_at = e.modified_at AND (
    (EXCLUDED.deleted_at IS NOT NULL AND e.deleted_at IS NULL)
    OR (EXCLUDED.deleted_at IS NULL AND e.deleted_at IS NULL AND NOT e.remote_was_deleted AND EXCLUDED.data IS DISTINCT FROM e.data)))
  OR (EXCLUDED.modified_at IS NULL AND EXCLUDED.deleted_at IS NOT NULL AND e.deleted_at IS NULL)`;

const WRITE = `
  INSERT INTO merge_engagements AS e (linked_account_id, id, modified_at, remote_was_deleted, deleted_at, data, source)
  SELECT $1, r.id, r.modified_at, r.remote_was_deleted,
         CASE WHEN r.deleted THEN coalesce(r.modified_at, now()) END,
         r.data, $2
  FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, modified_at timestamptz, remote_was_deleted boolean, deleted boolean, data jsonb)
  ON CONFLICT (linked_account_id, id) DO UPDATE SET
    modified_at = coalesce(EXCLUDED.modified_at, e.modified_at),
    remote_was_deleted = EXCLUDED.remote_was_deleted OR (EXCLUDED.deleted_at IS NOT NULL AND e.remote_was_deleted),
    deleted_at = EXCLUDED.deleted_at,
    data = CASE WHEN EXCLUDED.deleted_at IS NOT NULL AND EXCLUDED.data = '{}'::jsonb THEN e.data ELSE EXCLUDED.data END,
    source = EXCLUDED.source
  WHERE ${NEWER_WINS}
  RETURNING id`;

/**
 * Writes versions of one linked account's engagements (at most one per id: `newest` picks it), newer
 * wins; resolves with how many rows changed.
 */
export async function writeVersions(tx: SqlRunner, linkedAccountId: string, source: "sync" | "webhook", versions: readonly RowVersion[]): Promise<number> {
  if (versions.length === 0) return 0;
  const { rows } = await tx.query(WRITE, [linkedAccountId, source, JSON.stringify(versions)]);
  return rows.length;
}

/** Of several versions of one id in a batch, the one newer wins would keep. */
export function newest(versions: Iterable<RowVersion>): RowVersion[] {
  const byId = new Map<string, RowVersion>();
  for (const version of versions) {
    const kept = byId.get(version.id);
    if (!kept || wins(version, kept)) byId.set(version.id, version);
  }
  return [...byId.values()];
}

function wins(next: RowVersion, kept: RowVersion): boolean {
  if (kept.modified_at === null) return true;
  if (next.modified_at === null) return next.deleted;
  const a = Date.parse(next.modified_at);
  const b = Date.parse(kept.modified_at);
  if (a !== b) return a > b;
  return next.deleted || !kept.deleted;
}

/** The checkpoint of a linked account, `null` before its first sync. */
export async function readCheckpoint(db: SqlRunner, linkedAccountId: string): Promise<string | null> {
  const { rows } = await db.query<{ checkpoint: string }>("SELECT checkpoint FROM merge_sync_state WHERE linked_account_id = $1", [linkedAccountId]);
  return rows[0]?.checkpoint ?? null;
}

/** Stores a linked account's checkpoint (in the transaction of the rows it covers). */
export async function writeCheckpoint(tx: SqlRunner, linkedAccountId: string, checkpoint: string, caughtUp: boolean): Promise<void> {
  await tx.query(
    `INSERT INTO merge_sync_state (linked_account_id, checkpoint, caught_up, synced_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (linked_account_id) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, caught_up = EXCLUDED.caught_up, synced_at = EXCLUDED.synced_at`,
    [linkedAccountId, checkpoint, caughtUp],
  );
}
