/**
 * The database a mirror writes to, behind one small interface (a query, a transaction, close): PGlite
 * (embedded Postgres in WebAssembly, in a directory or an instance given) or Postgres through `pg` (a
 * `postgres://` URL or a Pool given). Both drivers are optional peers, loaded only when asked for.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Pool } from "pg";
import { FileLockError, takeFileLock } from "../internal/file-lock.js";
import { messageOf } from "../internal/errors.js";
import { withoutPassword } from "../internal/url.js";
import { MergeMirrorConfigError } from "./errors.js";

/**
 * What runs SQL: plain parameterized statements, as PGlite and Postgres both take them. A `pg` Pool or
 * client and a PGlite instance or transaction each are one as they are.
 */
export interface SqlRunner {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

/** A database opened for a mirror. */
export interface MirrorDatabase extends SqlRunner {
  /** Which kind: for messages and the summary. */
  readonly kind: "pglite" | "postgres";
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Closes what the mirror opened (not an instance or a Pool it was given). */
  close(): Promise<void>;
}

/** Where a mirror keeps its copy. */
export type MirrorDatabaseOption = string | PGlite | Pool;

const PGLITE_INSTALL = "npm install @electric-sql/pglite";
const PG_INSTALL = "npm install pg";

/** Opens the database a `database` option names. */
export async function openDatabase(database: MirrorDatabaseOption): Promise<MirrorDatabase> {
  if (typeof database === "string") {
    if (/^postgres(ql)?:\/\//i.test(database)) return openPostgresUrl(database);
    return openPgliteDirectory(database);
  }
  if (isPool(database)) return poolDatabase(database, false);
  if (isPglite(database)) return pgliteDatabase(database, () => Promise.resolve());
  throw new MergeMirrorConfigError("database must be a directory (PGlite), a postgres:// URL, a PGlite instance or a pg Pool");
}

function isPool(value: object): value is Pool {
  return typeof Reflect.get(value, "connect") === "function" && typeof Reflect.get(value, "totalCount") === "number";
}

function isPglite(value: object): value is PGlite {
  return typeof Reflect.get(value, "transaction") === "function" && typeof Reflect.get(value, "exec") === "function";
}

async function openPostgresUrl(url: string): Promise<MirrorDatabase> {
  let pg: typeof import("pg");
  try {
    pg = await import("pg");
  } catch (cause) {
    throw new MergeMirrorConfigError(`a postgres:// database needs the pg package: ${PG_INSTALL}`, { cause });
  }
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // pg reports an idle connection the server ended (a restart, pg_terminate_backend) as the pool's
  // "error" event, which ends the process when nobody listens; the pool has dropped that connection
  // already and the next query opens another.
  pool.on("error", () => undefined);
  try {
    await pool.query("SELECT 1");
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new MergeMirrorConfigError(`cannot connect to the Postgres database (${withoutPassword(url)}): ${messageOf(cause)}`, { cause });
  }
  return poolDatabase(pool, true);
}

function poolDatabase(pool: Pool, owned: boolean): MirrorDatabase {
  return {
    kind: "postgres",
    query: <Row extends Record<string, unknown>>(sql: string, params?: unknown[]) => pool.query<Row>(sql, params),
    async transaction(work) {
      const client = await pool.connect();
      // A checked-out connection the server ends emits "error" besides failing its query (which is how
      // the transaction learns of it): unheard, that event would end the process.
      const ignore = () => undefined;
      client.on("error", ignore);
      try {
        await client.query("BEGIN");
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.removeListener("error", ignore);
        client.release();
      }
    },
    close: () => (owned ? pool.end() : Promise.resolve()),
  };
}

async function openPgliteDirectory(directory: string): Promise<MirrorDatabase> {
  let module: typeof import("@electric-sql/pglite");
  try {
    module = await import("@electric-sql/pglite");
  } catch (cause) {
    throw new MergeMirrorConfigError(`a PGlite database (a directory) needs the @electric-sql/pglite package: ${PGLITE_INSTALL}`, { cause });
  }
  const path = resolve(directory);
  mkdirSync(path, { recursive: true });
  // PGlite is one process per directory: a second one would corrupt it.
  let release: () => void;
  try {
    release = takeFileLock(join(path, "merge-mirror"));
  } catch (error) {
    if (error instanceof FileLockError && error.problem === "held") {
      throw new MergeMirrorConfigError(
        `the PGlite database ${directory} is open in another process (pid ${error.holder ?? "?"}); PGlite allows one process per directory: stop it, or use Postgres (a postgres:// URL) to share the mirror`,
      );
    }
    throw new MergeMirrorConfigError(`cannot lock the PGlite database ${directory}: ${messageOf(error)}`, { cause: error });
  }
  let db: PGlite;
  try {
    db = await module.PGlite.create(path);
  } catch (cause) {
    release();
    throw new MergeMirrorConfigError(`cannot open the PGlite database ${directory}: ${messageOf(cause)}`, { cause });
  }
  return pgliteDatabase(db, async () => {
    try {
      await db.close();
    } finally {
      release();
    }
  });
}

function pgliteDatabase(db: PGlite, close: () => Promise<void>): MirrorDatabase {
  return {
    kind: "pglite",
    query: <Row extends Record<string, unknown>>(sql: string, params?: unknown[]) => db.query<Row>(sql, params),
    transaction: (work) => db.transaction(work),
    close,
  };
}
