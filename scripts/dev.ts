/**
 * `npm run dev`: watches openapi/ and re-runs lint and generation on every save, printing lint problems
 * with their file and line. It never stops on a failure: fix the spec and save again. CI's
 * `npm run check:generated` stays the gate.
 */
import { spawn } from "node:child_process";
import { readdirSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { root } from "./lib.js";

const bin = (name: string) => join(root, "node_modules", ".bin", name);

function runStep(command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit" });
    child.once("exit", (code) => resolve(code === 0));
    child.once("error", () => resolve(false));
  });
}

let running = false;
let again = false;
let timer: NodeJS.Timeout | undefined;

async function cycle(reason: string): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  console.log(`\n==> ${new Date().toLocaleTimeString()} ${reason}`);
  // stylish prints each problem as `file:line:col severity rule message`.
  const linted = await runStep(bin("redocly"), ["lint", "--format=stylish"]);
  if (linted) {
    const generated = await runStep(bin("tsx"), [join(root, "scripts", "generate.ts")]);
    console.log(generated ? "==> generated/ is up to date; watching openapi/ ..." : "==> generation failed; watching openapi/ ...");
  } else {
    console.log("==> lint failed: generated/ left as it was; watching openapi/ ...");
  }
  running = false;
  if (again) {
    again = false;
    await cycle("changes during the last run");
  }
}

// One watcher per folder (not `recursive`): a folder's watcher keeps seeing its files even when an
// editor saves by replacing them, which Node 20's recursive watch on Linux loses track of.
const watchers = new Map<string, FSWatcher>();
function watchTree(dir: string, relative: string): void {
  if (!watchers.has(dir)) {
    watchers.set(
      dir,
      watch(dir, (_event, file) => {
        clearTimeout(timer);
        // Editors write a file in several steps: wait for the saves to settle.
        timer = setTimeout(() => {
          watchTree(join(root, "openapi"), "openapi");
          void cycle(`${relative}/${String(file)} changed`);
        }, 150);
      }),
    );
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) watchTree(join(dir, entry.name), `${relative}/${entry.name}`);
  }
}
watchTree(join(root, "openapi"), "openapi");
await cycle("start");
