/**
 * The package as a user gets it: `npm pack` into a folder, and a fresh project that installs the
 * tarball. Shared by the package test (test/package/) and the runtime matrix (test/runtimes/matrix.ts).
 */
import { execFileSync, type ExecFileSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Runs a command and returns its stdout; on failure, throws with its stdout and stderr. */
export function sh(command: string, args: readonly string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options }).toString();
  } catch (error) {
    const e = error as { stdout?: Buffer | string; stderr?: Buffer | string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${String(e.stdout ?? "")}\n${String(e.stderr ?? "")}\n${e.message}`);
  }
}

export interface Packed {
  /** The tarball's absolute path. */
  tarball: string;
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
}

/** Packs the package at `root` (already built: prepack is skipped) into `destination`. */
export function packTarball(root: string, destination: string): Packed {
  const packed = JSON.parse(sh("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", destination], { cwd: root })) as Omit<
    Packed,
    "tarball"
  >[];
  const info = packed[0];
  if (!info) throw new Error("npm pack produced nothing");
  return { ...info, tarball: join(destination, info.filename) };
}

/** Creates `dir` as a fresh ESM project and installs `specs` (the tarball and anything else) into it. */
export function createConsumer(dir: string, specs: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  sh("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...specs], { cwd: dir });
}

/** The newest (or, with `oldest`, the oldest) modification time of the files under `path`. */
function mtimeOf(path: string, oldest = false): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  const times = readdirSync(path).map((name) => mtimeOf(join(path, name), oldest));
  if (times.length === 0) return oldest ? Number.POSITIVE_INFINITY : 0;
  return oldest ? Math.min(...times) : Math.max(...times);
}

/**
 * Whether `dist/` was built after the last change to what it is built from (src/, generated/, the
 * build's configuration), as make decides: `npm test` builds once, in the package test, and the
 * runtime matrix after it packs that build instead of spending half a minute on the same one again.
 */
export function buildIsFresh(root: string): boolean {
  const dist = join(root, "dist");
  if (!existsSync(dist)) return false;
  const sources = ["src", "generated", "package.json", "tsup.config.ts", "tsconfig.json"].map((path) => join(root, path)).filter((path) => existsSync(path));
  return mtimeOf(dist, true) > Math.max(...sources.map((path) => mtimeOf(path)));
}
