/**
 * The package as a user gets it: `npm pack` into a folder, and a fresh project that installs the
 * tarball. Shared by the package test (test/package/) and the runtime matrix (scripts/test-runtimes.ts).
 */
import { execFileSync, type ExecFileSyncOptions } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
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
