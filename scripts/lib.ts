/** Small helpers shared by the pipeline scripts: banners and child processes that fail loudly. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whatever the caller's working directory. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Prints a `==> step` banner. */
export function step(name: string): void {
  console.log(`==> ${name}`);
}

/** Runs a binary from node_modules/.bin (or any command) in the repository root; exits on failure. */
export function run(command: string, args: readonly string[], options: { quiet?: boolean } = {}): string {
  const bin = join(root, "node_modules", ".bin", command);
  const result = spawnSync(bin, args, {
    cwd: root,
    encoding: "utf8",
    stdio: options.quiet ? ["ignore", "pipe", "pipe"] : "inherit",
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    if (options.quiet) process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}`);
    console.error(`${command} ${args.join(" ")} failed with exit code ${String(result.status)}`);
    process.exit(result.status ?? 1);
  }
  return result.stdout ?? "";
}

/** A public entry of the package: its import specifier and its source. */
export interface PublicEntry {
  /** `merge-crm-engagements`, `merge-crm-engagements/bulk`, ... */
  specifier: string;
  /** Relative to the root: `src/index.ts`, `src/bulk/index.ts`, ... */
  source: string;
}

/** The package's code entries, read from package.json's `exports` (its JSON files left out). */
export function publicEntries(): PublicEntry[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; exports: Record<string, unknown> };
  return Object.keys(manifest.exports)
    .filter((key) => !key.endsWith(".json"))
    .map((key) => ({ specifier: `${manifest.name}${key.slice(1)}`, source: key === "." ? "src/index.ts" : `src${key.slice(1)}/index.ts` }));
}
