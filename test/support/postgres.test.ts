/**
 * The Postgres of test/support/postgres.ts: a client connects, a row survives `restart()` and `kill()`
 * (crash recovery), and `stop()` leaves no process and no directory behind.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import pg from "pg";
import { startPostgres, usePostgres } from "./postgres.js";
import { isAlive } from "./processes.js";

let pool: pg.Pool;
afterAll(() => pool.end());
const postgres = usePostgres();
beforeAll(() => {
  pool = new pg.Pool({ connectionString: postgres().url, max: 2 });
  // A restart ends the idle connections; the pool reports each as an "error" event, which would
  // otherwise be thrown, and opens new ones on the next query.
  pool.on("error", () => {});
});

test("a row committed before a restart is read back after it", async () => {
  await pool.query("CREATE TABLE engagements (id text PRIMARY KEY, subject text)");
  await pool.query("INSERT INTO engagements VALUES ($1, $2)", ["e1", "Kickoff"]);
  const before = postgres().pid;

  await postgres().restart();

  expect(postgres().pid).not.toBe(before);
  expect(isAlive(before)).toBe(false);
  const { rows } = await pool.query("SELECT id, subject FROM engagements");
  expect(rows).toEqual([{ id: "e1", subject: "Kickoff" }]);
});

test("a row committed before kill() survives crash recovery", async () => {
  await pool.query("INSERT INTO engagements VALUES ($1, $2)", ["e2", "Follow-up"]);
  const killed = postgres().pid;

  await postgres().kill();

  expect(isAlive(killed)).toBe(false);
  await expect(pool.query("SELECT 1")).rejects.toThrow();
  await postgres().restart();
  const { rows } = await pool.query("SELECT id FROM engagements ORDER BY id");
  expect(rows).toEqual([{ id: "e1" }, { id: "e2" }]);
});

test("stop() removes the directory and leaves no process", async () => {
  const server = await startPostgres();
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  expect((await client.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  await client.end();
  const processes = [server.pid, ...pgrep(["-P", String(server.pid)])];
  expect(processes.length).toBeGreaterThan(1);

  await server.stop();

  expect(existsSync(server.dir)).toBe(false);
  expect(pgrep(["-f", server.dataDir])).toEqual([]);
  expect(processes.filter(isAlive)).toEqual([]);
});

/** The pids `pgrep` finds, without this test's own `pgrep`. */
function pgrep(args: string[]): number[] {
  try {
    return execFileSync("pgrep", args, { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches.
  }
}
