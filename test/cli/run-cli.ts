/**
 * Runs the CLI from its sources (`node --import tsx src/cli/main.ts`) as a child process, the way a user
 * runs the bin: its own process, exit code, stdout and stderr. The environment is the test's, without
 * any MERGE_* variable of the machine running it, plus what the test gives.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommand, UsageError } from "../../src/cli/args.js";
import { FakeMerge } from "../support/fake-merge.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("MERGE_")) out[name] = value;
  return { ...out, ...env };
}

/** Starts the CLI; `done` settles when it exits. */
export function startCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: ROOT, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the CLI to its end. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** A meta/post answer for a local server: a linked account whose CRM asks nothing beyond the spec. */
export const OPEN_META = JSON.stringify({
  request_schema: { type: "object", properties: { model: { type: "object" } } },
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: false,
  remote_fields: [],
});

/**
 * A CLI test file's fixture: one FakeMerge (writes stored once per Idempotency-Key, the linked
 * account's meta open) and one temporary folder, for the whole file; the server is reset before each test.
 */
export function useCliFixture(prefix: string): { server: FakeMerge; dir: () => string } {
  const server = new FakeMerge();
  let dir = "";
  beforeAll(async () => {
    await server.start();
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => server.reset([], (url) => (url.includes("/meta/") ? { status: 200, body: OPEN_META } : "ok")));
  return { server, dir: () => dir };
}

/** The message of the UsageError a command line gets (the test fails when it gets none). */
export function usageErrorOf(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCommand(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`no UsageError for ${argv.join(" ")}`);
}

