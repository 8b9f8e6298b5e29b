/**
 * Fails when generated/ is stale: regenerates into a temporary folder and compares every file with
 * what is in generated/. CI runs it from a fresh clone, so there "what is in generated/" is what is
 * committed. It never writes to generated/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, step } from "./lib.js";

step("check generated/ is up to date with openapi/");
const fresh = mkdtempSync(join(tmpdir(), "merge-generated-"));
try {
  const result = spawnSync(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "scripts/generate.ts"), fresh], {
    cwd: root,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    console.error("check:generated: generation failed");
    process.exit(1);
  }
  const committed = join(root, "generated");
  const names = new Set([...listFiles(fresh), ...(existsSync(committed) ? listFiles(committed) : [])]);
  const stale: string[] = [];
  for (const name of [...names].sort()) {
    const a = join(fresh, name);
    const b = join(committed, name);
    if (!existsSync(a)) stale.push(`generated/${name} is not produced by the generator (remove it)`);
    else if (!existsSync(b)) stale.push(`generated/${name} is missing`);
    else if (readFileSync(a, "utf8") !== readFileSync(b, "utf8")) stale.push(`generated/${name} differs`);
  }
  if (stale.length > 0) {
    console.error(`generated/ is stale:\n  ${stale.join("\n  ")}\nRun \`npm run generate\` and commit generated/.`);
    process.exit(1);
  }
  console.log(`generated/ is up to date (${names.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}

/** Every file below `dir`, as paths relative to it. */
function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const relative = prefix ? `${prefix}/${name}` : name;
    return statSync(join(dir, relative)).isDirectory() ? listFiles(dir, relative) : [relative];
  });
}
