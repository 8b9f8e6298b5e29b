/**
 * The adaptive failure guard against random loads, under a fake clock (issue 17): the two classes of
 * load the bulk import guide (docs/guide/bulk-import.md) promises at most 20 failures in any 10 s for.
 * - steady: a failure rate from 0 to 1 from the start; 10 to 2,000 requests offered a second; successes
 *   answered in 1 ms to 2 s, failures as fast or faster (0.05× to 1× the successes' time); each answer
 *   time ±0 to 50%;
 * - sudden: 10 to 1,000 requests offered a second, healthy for 8 to 13 s, then every request sent is
 *   refused, fast enough that at most about 6 requests leave between the change and its first refusal
 *   coming back (rate × refusal time ≤ 6: 300 a second refused within 20 ms).
 * Outside them the guard does not promise 20 (the worst case in the bulk import guide): a first 1,000-load run with
 * failures up to 50× slower than successes, or sudden refusals at up to 2,000 a second with rate ×
 * refusal time up to 10, found 7 loads over 20 (at most 48); a second, with failures up to 1.5×
 * slower, found 1 (24: 7% failing in 1.8 s at 654 a second, successes in 1.2 s).
 * `npm test` runs 12 cases; `npm run test:guard:fuzz` runs 1,000 (GUARD_FUZZ_RUNS, GUARD_FUZZ_SEED).
 */
import { seeded } from "../support/seeded.js";
import { offer } from "./guard-simulation.js";

const RUNS = Number(process.env["GUARD_FUZZ_RUNS"] ?? 12);
const SEED = Number(process.env["GUARD_FUZZ_SEED"] ?? 20261201);

test(`${RUNS} random loads (seed ${SEED}), steady and sudden: never more than 20 failures in any 10 s`, async () => {
  const draw = seeded(SEED);
  const over: string[] = [];
  let worst = 0;
  let sent = 0;
  for (let k = 0; k < RUNS; k++) {
    const steady = k % 2 === 0;
    const ratePerSecond = Math.round(10 * Math.exp(draw() * Math.log(steady ? 200 : 100)));
    const rate = draw() < 0.2 ? 0 : draw() < 0.3 ? 1 : draw();
    const successMs = 1 + draw() * 2_000;
    const failureMs = steady ? (draw() < 0.5 ? successMs : successMs * (0.05 + 0.95 * draw())) : 1 + (draw() * 6_000) / ratePerSecond;
    const jitter = draw();
    const changeAt = 8_000 + draw() * 5_000;
    const random = seeded(SEED + k + 1);
    const run = await offer({
      mode: "adaptive",
      ratePerSecond,
      horizonMs: 25_000,
      answer: (_i, at) => {
        const fails = steady ? random() < rate : at >= changeAt;
        return { latencyMs: (fails ? failureMs : successMs) * (1 - jitter / 2 + jitter * random()), fails };
      },
    });
    sent += run.sent.length;
    worst = Math.max(worst, run.maxFailuresIn10s);
    const name = steady ? `steady, ${(rate * 100).toFixed(0)}% failing` : `sudden at ${(changeAt / 1000).toFixed(1)} s`;
    if (run.maxFailuresIn10s > 20) over.push(`case ${k} (${name}, ${ratePerSecond}/s, successes ${successMs.toFixed(0)} ms, failures ${failureMs.toFixed(0)} ms, ±${(jitter * 50).toFixed(0)}%): ${run.maxFailuresIn10s}`);
  }
  process.stdout.write(`guard fuzz: ${RUNS} loads, ${sent.toLocaleString("en-US")} requests sent, at most ${worst} failures in any 10 s; ${over.length} over 20\n`);
  expect(over).toEqual([]);
}, 3_600_000);
