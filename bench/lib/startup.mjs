/**
 * Section 3, start-up: spawns a fresh `node` that imports a client and constructs it (startup/*.mjs),
 * RUNS times each, interleaved in rounds with the order rotated; wall time from spawn to exit, plus
 * the in-process import-and-construct time each script prints. Baselines: `node -e ""` and an empty
 * ES module.
 */
import { join } from "node:path";
import { median } from "./stats.mjs";
import { mustSucceed, timed } from "./spawn.mjs";

export const STARTUP_IDS = ["node-e", "empty", "ours", "merge-sdk"];

export async function measureStartup(benchDir, runs) {
  const commands = {
    "node-e": ["-e", ""],
    empty: [join(benchDir, "startup", "empty.mjs")],
    ours: [join(benchDir, "startup", "ours.mjs")],
    "merge-sdk": [join(benchDir, "startup", "merge-sdk.mjs")],
  };
  const wall = Object.fromEntries(STARTUP_IDS.map((id) => [id, []]));
  const inProcess = Object.fromEntries(STARTUP_IDS.map((id) => [id, []]));
  // One unmeasured run each: the OS file cache.
  for (const id of STARTUP_IDS) await mustSucceed(`start-up ${id}`, timed(process.execPath, commands[id], { cwd: benchDir }));
  for (let round = 0; round < runs; round++) {
    const order = STARTUP_IDS.map((_, i) => STARTUP_IDS[(i + round) % STARTUP_IDS.length]);
    for (const id of order) {
      const result = await mustSucceed(`start-up ${id}`, timed(process.execPath, commands[id], { cwd: benchDir }));
      wall[id].push(result.ms);
      if (result.stdout) inProcess[id].push(JSON.parse(result.stdout).importAndConstructMs);
    }
  }
  return Object.fromEntries(
    STARTUP_IDS.map((id) => [id, { runs: wall[id].length, wallMs: median(wall[id]), importAndConstructMs: inProcess[id].length ? median(inProcess[id]) : null }]),
  );
}
