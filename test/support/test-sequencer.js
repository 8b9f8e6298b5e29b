// Orders the test files for workers that share two cores. Jest would start the longest first by the
// durations it cached in earlier runs, but CI runs from a fresh clone, with no cache (it would order by
// file size), so the long files are named here, with their seconds alone on the 2-core CI machine.
import { relative } from "node:path";
import Sequencer from "@jest/test-sequencer";

/**
 * First the files that mostly compute (building, packing, type-checking, spawning tsx, simulating),
 * longest first: they keep both cores busy while the short files fill the gaps.
 */
const COMPUTING = [
  ["test/docs/docs.test.ts", 120],
  ["test/package/package.test.ts", 56],
  ["test/cli/queue-cli.test.ts", 31],
  ["test/spec/spec-diff.test.ts", 27],
  ["test/delivery/failure-guard.test.ts", 20],
  ["test/cli/cli.test.ts", 20],
  ["test/queue/crash.test.ts", 19],
  ["test/cli/export.test.ts", 10],
  ["test/core/account-cache.test.ts", 10],
  ["test/mock/mock-server.test.ts", 10],
  ["test/core/soak.test.ts", 9],
  ["test/core/shared-signal.test.ts", 9],
  ["test/cli/crash.test.ts", 9],
  ["test/mock/mock-webhooks.test.ts", 8],
  ["test/sync/export-crash.test.ts", 7],
  ["test/cli/queue-references.test.ts", 6],
  ["test/delivery/guard-fuzz.test.ts", 4],
  ["test/cli/cli-transport.test.ts", 5],
  ["test/core/validator-vs-prism.property.test.ts", 4],
  ["test/core/schema-compiler-vs-ajv.property.test.ts", 4],
  ["test/spec/spec-drift.test.ts", 3],
];

/**
 * Then the files that mostly wait and hold a rate or a delay to a bound (paced sends per minute,
 * failures per 10 s, a wait under so many milliseconds): started after the computing ones, so that they
 * share the cores with little but each other and the short files, as they would alone.
 */
const TIMED = [
  ["test/queue/fleet-pacing.test.ts", 58],
  ["test/bulk/latency.test.ts", 37],
  ["test/cli/pacing-guard.test.ts", 31],
  ["test/queue/gate.test.ts", 12],
  ["test/queue/fleet-accounts.test.ts", 12],
  ["test/core/faults.test.ts", 10],
  ["test/bulk/pacing.test.ts", 6],
  ["test/bulk/accounts.test.ts", 6],
];

const rank = new Map([...COMPUTING, ...TIMED].map(([path], index) => [path, index]));

export default class ComputingFirstSequencer extends Sequencer {
  sort(tests) {
    const position = (test) => rank.get(relative(test.context.config.rootDir, test.path).split("\\").join("/")) ?? rank.size;
    // Array.prototype.sort is stable: the short files keep jest's own order (cached durations, else size).
    return [...super.sort(tests)].sort((a, b) => position(a) - position(b));
  }
}
