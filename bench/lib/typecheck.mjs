/**
 * Section 4, type-check cost: `tsc --noEmit --extendedDiagnostics -p typecheck/<client>` (TypeScript
 * ~5.9 from bench's node_modules) on a consumer file that makes one create call, RUNS times each,
 * interleaved; median wall time, and median of tsc's own "Total time" (without node's and tsc's
 * start-up). The baseline consumer makes a fetch call with no client: tsc's own floor.
 */
import { join } from "node:path";
import { median } from "./stats.mjs";
import { mustSucceed, timed } from "./spawn.mjs";

export const TYPECHECK_IDS = ["baseline", "ours", "merge-sdk"];

function diagnostics(stdout) {
  const get = (name) => {
    const match = stdout.match(new RegExp(`^${name}:\\s+([\\d.]+)(s|K)?$`, "m"));
    return match ? Number(match[1]) * (match[2] === "s" ? 1000 : 1) : null;
  };
  return {
    totalMs: get("Total time"),
    checkMs: get("Check time"),
    files: get("Files"),
    linesOfDefinitions: get("Lines of Definitions"),
    types: get("Types"),
    instantiations: get("Instantiations"),
    memoryK: get("Memory used"),
  };
}

export async function measureTypecheck(benchDir, runs) {
  const tsc = join(benchDir, "node_modules", "typescript", "bin", "tsc");
  const wall = Object.fromEntries(TYPECHECK_IDS.map((id) => [id, []]));
  const total = Object.fromEntries(TYPECHECK_IDS.map((id) => [id, []]));
  const last = {};
  // Per round, each client's tsc Total time minus the baseline's of the same round (paired: drift of
  // the machine between rounds cancels out).
  const net = { ours: [], "merge-sdk": [] };
  for (let round = 0; round < runs; round++) {
    const thisRound = {};
    const order = TYPECHECK_IDS.map((_, i) => TYPECHECK_IDS[(i + round) % TYPECHECK_IDS.length]);
    for (const id of order) {
      const result = await mustSucceed(
        `tsc on typecheck/${id}`,
        timed(process.execPath, [tsc, "--noEmit", "--extendedDiagnostics", "-p", join(benchDir, "typecheck", id)], { cwd: benchDir }),
      );
      wall[id].push(result.ms);
      last[id] = diagnostics(result.stdout);
      if (last[id].totalMs !== null) total[id].push(last[id].totalMs);
      thisRound[id] = last[id].totalMs;
    }
    for (const id of Object.keys(net)) if (thisRound[id] !== null && thisRound.baseline !== null) net[id].push(thisRound[id] - thisRound.baseline);
  }
  const { stdout } = await timed(process.execPath, [tsc, "--version"]);
  return {
    tsc: stdout.trim().replace(/^Version /, "TypeScript "),
    results: Object.fromEntries(
      TYPECHECK_IDS.map((id) => [
        id,
        { runs: wall[id].length, ms: median(wall[id]), totalMs: median(total[id]), netMs: net[id] ? median(net[id]) : null, diagnostics: last[id] },
      ]),
    ),
  };
}
