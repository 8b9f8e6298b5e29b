/**
 * `openEngagementMirror`: a copy of linked accounts' engagements in the user's database, kept in step by
 * the incremental sync (`engagementChanges`) and by Merge's webhooks. Each page of the sync is written
 * with the checkpoint after it in one transaction, so the checkpoint never runs ahead of the rows it
 * covers; every write follows "newer wins", so a webhook that arrives late, twice or out of order, or
 * an older page read again, never replaces a newer version nor brings a deleted engagement back.
 */
import type { AccountTokenMode, Engagement, MergeCrmClient } from "../index.js";
import { engagementChanges, type EngagementChange } from "../sync/index.js";
import { isMergeWebhookEvent, type MergeWebhookEvent } from "../webhooks/index.js";
import { openDatabase, type MirrorDatabase, type MirrorDatabaseOption } from "./database.js";
import { MergeMirrorConfigError } from "./errors.js";
import { migrate, newest, readCheckpoint, writeCheckpoint, writeVersions, type RowVersion } from "./schema.js";

/** Options of `openEngagementMirror`. */
export interface EngagementMirrorOptions {
  /** The client that reads (a client without its own account token serves many linked accounts). */
  client: MergeCrmClient<AccountTokenMode>;
  /**
   * Where the copy is kept: a directory (PGlite, embedded; one process at a time), a `postgres://` URL,
   * a PGlite instance or a `pg` Pool (neither closed by the mirror).
   * @default "./merge-mirror"
   */
  database?: MirrorDatabaseOption;
}

/** What one `sync` did. */
export interface MirrorSyncSummary {
  /** The linked account's id (Merge's, as webhooks carry it): the table's `linked_account_id`. */
  linkedAccountId: string;
  /** Pages read, each committed with its checkpoint. */
  pages: number;
  /** Records read. */
  records: number;
  /** Upserts and deletions read, and how many changed a row (the others were older or the same). */
  upserts: number;
  deletions: number;
  changed: number;
  /** Whether the copy is up to date as of when the sync began (false when it was stopped early). */
  caughtUp: boolean;
  durationMs: number;
}

/** What `apply` made of a webhook event. */
export interface MirrorApplyResult {
  /**
   * `applied`: written (it was newer); `unchanged`: the stored version is newer, or the same (a late or
   * repeated delivery); `ignored`: not an engagement event.
   */
  outcome: "applied" | "unchanged" | "ignored";
  /** The event's name. */
  event: string;
  linkedAccountId?: string;
  id?: string;
}

/** A copy of engagements in a database. */
export interface EngagementMirror {
  /** Which database: `"pglite"` or `"postgres"`. */
  readonly kind: "pglite" | "postgres";
  /**
   * Reads what changed since the linked account's stored checkpoint and writes it, one transaction per
   * page (its rows and the checkpoint after them). Stopped by `signal` between pages: what was
   * committed stays, and the next sync resumes from it.
   */
  sync(options: { accountToken: string; signal?: AbortSignal }): Promise<MirrorSyncSummary>;
  /**
   * Writes an `Engagement.added`, `Engagement.changed` or `Engagement.removed` event (as
   * `unwrapMergeWebhook` returns it) into the same table, newer wins; other events are ignored.
   * Resolves once it is committed: answer Merge's delivery after that.
   */
  apply(event: MergeWebhookEvent): Promise<MirrorApplyResult>;
  /** The linked account's id for a token (`GET /crm/v1/account-details`, once per token). */
  linkedAccountId(accountToken: string): Promise<string>;
  /** Runs a query on the mirror's database and resolves with its rows (for reports and tests). */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Closes the database (when the mirror opened it). */
  close(): Promise<void>;
}

/**
 * Opens (and creates or migrates) a mirror.
 * @example
 * import { openEngagementMirror } from "merge-crm-engagements/mirror";
 * const mirror = await openEngagementMirror({ client: merge, database: process.env.DATABASE_URL });
 * await mirror.sync({ accountToken });                  // on a schedule, or on LinkedAccount.synced
 * app.post("/merge-webhooks", async (req, res) => {    // with the webhooks entry's verification
 *   await mirror.apply(event);
 *   res.sendStatus(200);                               // only once the event is committed
 * });
 */
export async function openEngagementMirror(options: EngagementMirrorOptions): Promise<EngagementMirror> {
  const { client } = options;
  if (typeof client !== "object" || client === null || typeof client.engagements?.list !== "function") {
    throw new MergeMirrorConfigError("openEngagementMirror: client must be a client from createMergeCrmClient");
  }
  const db: MirrorDatabase = await openDatabase(options.database ?? "./merge-mirror");
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }

  // Tokens stay in memory: the database and every message name a linked account by Merge's id.
  const accountIds = new Map<string, Promise<string>>();
  const linkedAccountId = (accountToken: string): Promise<string> => {
    const known = accountIds.get(accountToken);
    if (known) return known;
    const id = client.accountDetails.retrieve({ accountToken }).then((details) => {
      if (typeof details.id !== "string" || details.id === "") throw new MergeMirrorConfigError("GET /crm/v1/account-details answered without the linked account's id");
      return details.id;
    });
    // A failure is not kept: the next call asks again.
    id.catch(() => accountIds.delete(accountToken));
    accountIds.set(accountToken, id);
    return id;
  };

  return {
    kind: db.kind,
    linkedAccountId,

    async sync({ accountToken, signal }) {
      const started = performance.now();
      const account = await linkedAccountId(accountToken);
      const summary: MirrorSyncSummary = { linkedAccountId: account, pages: 0, records: 0, upserts: 0, deletions: 0, changed: 0, caughtUp: false, durationMs: 0 };
      const checkpoint = await readCheckpoint(db, account);
      const walk = engagementChanges(client, { accountToken, checkpoint, ...(signal ? { signal } : {}) });
      for await (const batch of walk) {
        const versions = newest(batch.changes.map(versionOf));
        summary.changed += await db.transaction(async (tx) => {
          const changed = await writeVersions(tx, account, "sync", versions);
          await writeCheckpoint(tx, account, batch.checkpoint, batch.caughtUp);
          return changed;
        });
        summary.pages++;
        summary.records += batch.records;
        for (const change of batch.changes) {
          if (change.op === "upsert") summary.upserts++;
          else summary.deletions++;
        }
        if (batch.caughtUp) summary.caughtUp = true;
      }
      summary.durationMs = Math.round(performance.now() - started);
      return summary;
    },

    async apply(event) {
      const name = event.hook.event;
      const engagement = engagementEvent(event);
      const account = event.linked_account.id;
      if (!engagement || typeof account !== "string" || account === "") return { outcome: "ignored", event: name };
      const version: RowVersion = { ...versionOf({ op: "upsert", engagement }), deleted: name === "Engagement.removed" };
      const changed = await db.transaction((tx) => writeVersions(tx, account, "webhook", [version]));
      return { outcome: changed > 0 ? "applied" : "unchanged", event: name, linkedAccountId: account, id: version.id };
    },

    async query<Row extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      return (await db.query<Row>(sql, params)).rows;
    },

    close: () => db.close(),
  };
}

/** The engagement an `Engagement.*` event carries, with an id; `undefined` for other events. */
function engagementEvent(event: MergeWebhookEvent): Engagement | undefined {
  const engagement =
    isMergeWebhookEvent(event, "Engagement.added") || isMergeWebhookEvent(event, "Engagement.changed") || isMergeWebhookEvent(event, "Engagement.removed")
      ? event.data
      : undefined;
  return typeof engagement?.id === "string" && engagement.id !== "" ? engagement : undefined;
}

/** A change as a row version. */
function versionOf(change: EngagementChange): RowVersion {
  if (change.op === "delete") return { id: change.id, modified_at: change.modified_at ?? null, remote_was_deleted: true, deleted: true, data: {} };
  const { engagement } = change;
  return {
    id: engagement.id ?? "",
    modified_at: engagement.modified_at ?? null,
    remote_was_deleted: engagement.remote_was_deleted === true,
    deleted: false,
    data: engagement,
  };
}
