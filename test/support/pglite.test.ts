/**
 * PGlite (Postgres compiled to WebAssembly) under jest's ES modules: a database in a directory keeps
 * its rows across close and reopen.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "merge-pglite-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a row written to a PGlite directory is read back after reopening it", async () => {
  const first = new PGlite(dir);
  await first.exec("CREATE TABLE engagements (id text PRIMARY KEY, subject text)");
  await first.query("INSERT INTO engagements VALUES ($1, $2)", ["e1", "Kickoff"]);
  await first.close();

  const second = new PGlite(dir);
  const { rows } = await second.query("SELECT id, subject FROM engagements");
  await second.close();

  expect(rows).toEqual([{ id: "e1", subject: "Kickoff" }]);
});
