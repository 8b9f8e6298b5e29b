/**
 * The short soak of the default run: 10,000 creates and 1,000 into injected faults, 64 in
 * flight on one signal, in a client process of their own. `npm run test:soak` runs 100,000 and 10,000.
 */
import { describeSoak, runSoak, soakProblems } from "./soak.js";
import { integerFromEnvironment } from "../support/prism.js";

const creates = integerFromEnvironment("SOAK_CREATES", 10_000);
const faulted = integerFromEnvironment("SOAK_FAULTED", 1_000);

test(`${creates} creates and ${faulted} into faults: all settle typed, the heap stays flat, nothing is left behind`, async () => {
  const report = await runSoak(creates, faulted);
  process.stdout.write(`\nsoak:\n${describeSoak(report)}\n`);
  expect(soakProblems(report, { creates, faulted })).toEqual([]);
  // The faults really were met: some calls recovered by retrying, some ended in typed errors.
  expect(report.faults.outcomes["created"]).toBeLessThan(faulted);
  expect(report.faults.outcomes["created"]).toBeGreaterThan(faulted / 2);
}, 240_000);
