/**
 * The mirror's drivers are optional peers: without the one a database needs, opening the mirror fails
 * with a `MergeMirrorConfigError` naming the install command (the CLI: exit 2, the same words). Run in
 * a child process whose module resolution hides `pg` and `@electric-sql/pglite`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { cliEnv, MAIN, ROOT } from "../cli/run-cli.js";

const WITHOUT_PEERS = fileURLToPath(new URL("./without-peers.mjs", import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mirror-peers-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mirrorCli(db: string): Promise<{ code: number | null; stderr: string }> {
  const args = ["--import", "tsx", "--import", WITHOUT_PEERS, MAIN, "mirror", "--account-token", "peers-test-token", "--db", db, "--base-url", "http://127.0.0.1:9"];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: cliEnv({ MERGE_API_KEY: "k" }), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

test.each([
  ["a PGlite directory", () => join(dir, "db"), "npm install @electric-sql/pglite"],
  ["a postgres:// URL", () => "postgres://postgres@127.0.0.1:9/postgres", "npm install pg"],
])("without its driver, %s is refused naming the install command (exit 2), the token never shown", async (_what, db, install) => {
  const run = await mirrorCli(db());
  expect(run.stderr).toContain(install);
  expect(run.code).toBe(2);
  expect(run.stderr).not.toContain("peers-test-token");
}, 60_000);
