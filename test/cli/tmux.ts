/**
 * The CLI on a real terminal, as a new user meets it: the built bin runs in a tmux session (120×30)
 * importing 3,000 rows over 2 linked accounts into the embedded mock at 600 writes a minute per account.
 * The pane is captured while the bar is live (test-results/cli-progress.txt), then after one Ctrl-C
 * (test-results/cli-ctrl-c.txt: the summary and the command that resumes). Needs tmux.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, run, step } from "../../scripts/lib.js";

const SESSION = `merge-cli-${process.pid}`;
const file = join(".tmp", "tmux-demo.ndjson");
const journal = join(".tmp", "tmux-demo.journal");
const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

step("build (dist/cli.js)");
run("tsup", [], { quiet: true });

step(`write ${file}: 3,000 rows over 2 accounts, one in 50 with a direction the API does not know`);
mkdirSync(join(root, ".tmp"), { recursive: true });
mkdirSync(join(root, "test-results"), { recursive: true });
rmSync(join(root, journal), { force: true });
const rows: string[] = [];
for (let i = 0; i < 3000; i++) {
  const account = i % 2 === 0 ? "acme" : "globex";
  const model = {
    subject: `Call ${i}`,
    direction: i % 50 === 49 ? "SIDEWAYS" : "OUTBOUND",
    start_time: new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(),
    linked_account_params: { activity_owner_email: `owner@${account}.example` },
  };
  rows.push(JSON.stringify({ model, account_token: `${account}-linked-account-token`, key: `call-${i}` }));
}
writeFileSync(join(root, file), `${rows.join("\n")}\n`);

step(`tmux session ${SESSION} (120×30): node dist/cli.js import ${file} --journal ${journal} --rate 600`);
tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "30", "-c", root, "env", "-u", "MERGE_API_KEY", "-u", "MERGE_ACCOUNT_TOKEN", "bash", "--norc", "--noprofile");
try {
  tmux("send-keys", "-t", SESSION, `PS1='$ ' && clear && node dist/cli.js import ${file} --journal ${journal} --rate 600`, "Enter");
  await sleep(15_000);
  const live = tmux("capture-pane", "-p", "-t", SESSION);
  writeFileSync(join(root, "test-results", "cli-progress.txt"), live);
  step("captured the live bar: test-results/cli-progress.txt");
  process.stdout.write(live.trimEnd() + "\n");

  tmux("send-keys", "-t", SESSION, "C-c");
  await sleep(5_000);
  const stopped = tmux("capture-pane", "-p", "-t", SESSION);
  writeFileSync(join(root, "test-results", "cli-ctrl-c.txt"), stopped);
  step("captured after one Ctrl-C: test-results/cli-ctrl-c.txt");
  process.stdout.write(stopped.trimEnd() + "\n");
} finally {
  tmux("kill-session", "-t", SESSION);
}
