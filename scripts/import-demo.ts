/**
 * npm run import:demo: the CLI imports examples/engagements.csv (6 rows over 2 linked accounts, one of
 * them rejected on purpose) into the embedded Prism mock, whatever MERGE_API_KEY says, then shows the
 * rejects file and `status`. The journal starts empty each time (.tmp/import-demo.journal).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { root, step } from "./lib.js";

const journal = join(".tmp", "import-demo.journal");
const rejects = join(".tmp", "import-demo.rejects.ndjson");
mkdirSync(join(root, ".tmp"), { recursive: true });
rmSync(join(root, journal), { force: true });

const env: NodeJS.ProcessEnv = { ...process.env };
delete env["MERGE_API_KEY"];
const cli = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", join(root, "src", "cli", "main.ts"), ...args], { cwd: root, env, stdio: "inherit" });

step(`merge-crm-engagements import examples/engagements.csv --journal ${journal} --rejects ${rejects}`);
const run = cli(["import", "examples/engagements.csv", "--journal", journal, "--rejects", rejects]);
step(`${rejects}`);
process.stdout.write(readFileSync(join(root, rejects), "utf8"));
step(`merge-crm-engagements status --journal ${journal}`);
cli(["status", "--journal", journal]);
// Exit code 1 is the expected one: the example's last row is rejected on purpose.
console.log(`import exited ${String(run.status)}${run.status === 1 ? " (some rows rejected: expected here)" : ""}`);
if (run.status !== 0 && run.status !== 1) process.exitCode = run.status ?? 1;
