/**
 * A fleet of queue workers, each in a Node process of its own (`fleet-worker-process.ts`), so that
 * what paces them and guards them is the state they share in Redis, not memory of one process. For
 * test/queue/fleet-pacing.test.ts and bench/queue.ts. On Linux each is started through
 * `setpriv --pdeathsig KILL`, which execs it (the pid is the worker's), so none outlives its parent.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { AccountHealthOptions } from "../../src/bulk/index.js";
import type { EngagementWorkerStats, QueueRow } from "../../src/queue/index.js";

const SCRIPT = fileURLToPath(new URL("./fleet-worker-process.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 15_000;

/** What a worker process is told (its argument, as JSON). */
export interface FleetWorkerSettings {
  redisUrl: string;
  queue: string;
  baseUrl: string;
  ratePerMinute: number;
  concurrency: number;
  /** Report the worker's info lines (a 429's pause) as well as warnings. */
  logInfo?: boolean;
  /** The client's transport: Node's `fetch`, or `merge-crm-engagements/undici` (what the CLI uses). @default "fetch" */
  transport?: "fetch" | "undici";
  /** The workers' `accountHealth` (a short probe back-off for tests). */
  accountHealth?: AccountHealthOptions;
}

/** A line of a worker process's stdout. */
export type FleetEvent =
  | { event: "ready"; pid: number }
  | { event: "log"; level: "info" | "warn" | "error"; message: string }
  | { event: "closed"; stats: EngagementWorkerStats; sent: Record<string, number> };

/** What a worker process reports when it has closed. */
export type FleetReport = Extract<FleetEvent, { event: "closed" }>;

export interface FleetProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** What it has logged so far. */
  readonly logs: Array<{ level: string; message: string }>;
  /** Whether it is still running. */
  alive(): boolean;
}

export interface Fleet {
  readonly workers: readonly FleetProcess[];
  /** SIGTERM to each: it finishes its jobs in flight and exits; resolves with each one's `closed` report. */
  stop(): Promise<FleetReport[]>;
}

/** Starts `count` worker processes and waits until each takes jobs. */
export async function startFleet(count: number, settings: FleetWorkerSettings, env: Record<string, string>): Promise<Fleet> {
  const started = Array.from({ length: count }, () => startProcess(settings, env));
  const fleet: Fleet = {
    workers: started.map((s) => s.process),
    async stop() {
      return Promise.all(started.map((s) => s.stop()));
    },
  };
  try {
    await Promise.all(started.map((s) => s.ready));
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
  return fleet;
}

function startProcess(settings: FleetWorkerSettings, env: Record<string, string>) {
  const args = ["--import", "tsx", SCRIPT, JSON.stringify(settings)];
  const child = existsSync("/usr/bin/setpriv")
    ? spawn("/usr/bin/setpriv", ["--pdeathsig", "KILL", process.execPath, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const logs: Array<{ level: string; message: string }> = [];
  let stderr = "";
  let closedReport: FleetReport | undefined;
  let onReady: (() => void) | undefined;
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let pending = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      let event: FleetEvent;
      try {
        event = JSON.parse(line) as FleetEvent;
      } catch {
        logs.push({ level: "stdout", message: line });
        continue;
      }
      if (event.event === "ready") onReady?.();
      else if (event.event === "log") logs.push({ level: event.level, message: event.message });
      else closedReport = event;
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4_000);
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a fleet worker (pid ${child.pid}) was not ready within ${READY_TIMEOUT_MS / 1000} s; its stderr:\n${stderr}`)), READY_TIMEOUT_MS);
    onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`a fleet worker (pid ${child.pid}) exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready; its stderr:\n${stderr}`));
    });
  });
  ready.catch(() => {});
  const stop = async (): Promise<FleetReport> => {
    if (alive()) child.kill("SIGTERM");
    const escalate = setTimeout(() => alive() && child.kill("SIGKILL"), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(escalate);
    if (!closedReport) throw new Error(`a fleet worker (pid ${child.pid}) exited (code ${child.exitCode}, signal ${child.signalCode}) without its report; its stderr:\n${stderr}`);
    return closedReport;
  };
  return { process: { pid: child.pid ?? -1, child, logs, alive } satisfies FleetProcess, ready, stop };
}

/** Rows for each token (`perAccount[token]` of them), interleaved, keyed `<token>-<i>`. */
export function* interleaved(perAccount: Record<string, number>): Generator<QueueRow> {
  const most = Math.max(...Object.values(perAccount));
  for (let i = 0; i < most; i++) {
    for (const [token, count] of Object.entries(perAccount)) {
      if (i < count) yield { model: { subject: `Call ${i} of ${token}`, direction: "OUTBOUND" }, accountToken: token, key: `${token}-${i}` };
    }
  }
}

/** Waits until `check()` holds; `false` after `timeoutMs` (the figures then say what happened). */
export async function until(check: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}

/**
 * One fleet at a time for a test file: `start` it, and it is stopped after each test unless the test
 * stopped it (its `stop` resolves with the workers' reports).
 */
export function useFleet(): { start: (count: number, settings: FleetWorkerSettings, env: Record<string, string>) => Promise<Fleet> } {
  let running: Fleet | undefined;
  afterEach(async () => {
    await running?.stop().catch(() => {});
    running = undefined;
  });
  return {
    async start(count, settings, env) {
      const fleet = await startFleet(count, settings, env);
      running = fleet;
      return {
        workers: fleet.workers,
        stop: () => {
          running = undefined;
          return fleet.stop();
        },
      };
    },
  };
}
