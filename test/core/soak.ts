/**
 * The soak: a local server that stores writes by idempotency key (the shared fake Merge) and a
 * client in its own process that sends `creates` clean creates and `faulted` creates into injected
 * faults, 64 in flight, on one shared signal. Resolves to the client's report, the time it took to
 * exit by itself after reporting, and the server's count of stored writes.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FakeMerge, type Behaviour } from "../support/fake-merge.js";

export interface SoakReport {
  clean: LoadReport;
  faults: LoadReport;
  before: Memory;
  warm: Memory;
  after: Memory;
  listenersLeft: number;
  activeResources: string[];
  /** Milliseconds between the report and the client's exit, which it reaches on its own. */
  exitAfterMs: number;
  exitCode: number | null;
}
export interface LoadReport {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  outcomes: Record<string, number>;
}
interface Memory {
  heapUsed: number;
  rss: number;
}

/** The faults of /faults requests, in turn: one request in two meets one. The client's timeout is 250 ms. */
const FAULTS: Behaviour[] = [
  "reset-before-body",
  { status: 503 },
  "store-then-500",
  { slowMs: 600, store: true }, // stored, answered after the client gave up: a timeout, then a replay
  "reset-after-store",
  "hang",
  "truncated",
  { status: 502, body: "<html>bad gateway</html>", contentType: "text/html" },
];

export async function runSoak(creates: number, faulted: number, inFlight = 64): Promise<SoakReport> {
  const server = new FakeMerge();
  await server.start();
  let turn = 0;
  server.reset([], (url) => (url.startsWith("/faults/") && turn++ % 2 === 0 ? (FAULTS[(turn >> 1) % FAULTS.length] ?? "ok") : "ok"));
  try {
    const script = fileURLToPath(new URL("./soak-client.ts", import.meta.url));
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", script, server.url, String(creates), String(faulted), String(inFlight)], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let reportedAt = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (reportedAt === 0 && stdout.includes("\n")) reportedAt = performance.now();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => resolve(code));
    });
    const line = stdout.split("\n")[0] ?? "";
    if (exitCode !== 0 || !line) throw new Error(`the soak client exited with ${String(exitCode)}:\n${stderr.slice(-4_000)}`);
    const report = JSON.parse(line) as Omit<SoakReport, "exitAfterMs" | "exitCode">;
    return { ...report, exitAfterMs: Math.round(performance.now() - reportedAt), exitCode };
  } finally {
    await server.stop();
  }
}

/** "PipeWrap ×2, Timeout ×600": resources by kind. */
function countByKind(resources: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const resource of resources) counts.set(resource, (counts.get(resource) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${kind} ×${count}`).join(", ");
}

/** One line per figure, for logs and the closing note. */
export function describeSoak(report: SoakReport): string {
  const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
  const outcomes = (load: LoadReport) =>
    Object.entries(load.outcomes)
      .map(([name, count]) => `${name} ${count}`)
      .join(", ");
  return [
    `clean:  ${report.clean.calls} creates in ${report.clean.seconds} s (${report.clean.callsPerSecond} calls/s): ${outcomes(report.clean)}`,
    `faults: ${report.faults.calls} creates in ${report.faults.seconds} s (${report.faults.callsPerSecond} calls/s): ${outcomes(report.faults)}`,
    `heap after GC: ${mb(report.before.heapUsed)} at start, ${mb(report.warm.heapUsed)} after warm-up, ${mb(report.after.heapUsed)} at end (${mb(report.after.heapUsed - report.before.heapUsed)} since start, ${mb(report.after.heapUsed - report.warm.heapUsed)} since warm-up)`,
    `RSS: ${mb(report.before.rss)} at start, ${mb(report.warm.rss)} after warm-up, ${mb(report.after.rss)} at end`,
    `left behind: ${report.listenersLeft} listeners on the shared signal; active resources [${countByKind(report.activeResources)}]; exited by itself ${report.exitAfterMs} ms after reporting`,
  ].join("\n");
}

/** The bounds: what the report breaks, one line each (none when it passes). */
export function soakProblems(report: SoakReport, expected: { creates: number; faulted: number }): string[] {
  const problems: string[] = [];
  for (const [name, load, calls] of [["clean", report.clean, expected.creates], ["faults", report.faults, expected.faulted]] as const) {
    const settled = Object.values(load.outcomes).reduce((sum, n) => sum + n, 0);
    if (settled !== calls) problems.push(`${name}: ${settled} of ${calls} calls settled`);
    for (const [outcome, count] of Object.entries(load.outcomes)) {
      if (outcome.startsWith("untyped")) problems.push(`${name}: ${count} calls failed with an untyped error: ${outcome}`);
    }
  }
  if (report.clean.outcomes["created"] !== expected.creates) problems.push(`clean: not every create succeeded: ${JSON.stringify(report.clean.outcomes)}`);
  const growth = report.after.heapUsed - report.before.heapUsed;
  if (growth > 10 * 1_048_576) problems.push(`the heap grew by ${(growth / 1_048_576).toFixed(1)} MB (limit 10 MB)`);
  if (report.listenersLeft !== 0) problems.push(`${report.listenersLeft} listeners left on the shared signal`);
  // The client's own stdout and stderr pipes are all that may remain.
  const left = report.activeResources.filter((resource) => resource !== "PipeWrap" && resource !== "TTYWrap");
  if (left.length > 0) problems.push(`resources still active at the end: ${countByKind(left)}`);
  if (report.exitAfterMs > 2_000) problems.push(`the client took ${report.exitAfterMs} ms to exit after its last call`);
  return problems;
}
