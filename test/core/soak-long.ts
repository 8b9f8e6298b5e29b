/**
 * npm run test:soak: the long soak. 100,000 creates at 64 in flight against a local server,
 * then 10,000 into injected faults (resets, 5xx, slow answers, timeouts), in a client process of their
 * own; prints the figures and exits 1 if a call settled untyped, the heap grew by more than 10 MB, or
 * anything (timer, socket, listener) was left behind. SOAK_CREATES and SOAK_FAULTED change the sizes.
 */
import { describeSoak, runSoak, soakProblems } from "./soak.js";
import { integerFromEnvironment } from "../support/prism.js";

const creates = integerFromEnvironment("SOAK_CREATES", 100_000);
const faulted = integerFromEnvironment("SOAK_FAULTED", 10_000);
console.log(`==> soak: ${creates} creates, then ${faulted} into faults, 64 in flight`);
const report = await runSoak(creates, faulted);
console.log(describeSoak(report));
const problems = soakProblems(report, { creates, faulted });
if (problems.length > 0) {
  console.error(`soak failed:\n- ${problems.join("\n- ")}`);
  process.exitCode = 1;
} else {
  console.log("soak passed");
}
