/**
 * The failure guard under a fake clock: no window of its 12 s (Merge's 10 s and a margin) ever holds more
 * than 20 failures by send time, in either mode; the adaptive mode (issue 17) lets a healthy run have as
 * many requests in flight as its rate and latency need.
 */
import { FailureGuard, type FailureGuardMode, type Permit } from "../../src/delivery/failure-guard.js";
import { Stopper } from "../../src/delivery/waits.js";
import { maxInWindow } from "../support/fake-merge.js";
import { FakeClock, settle } from "../support/fake-clock.js";
import { seeded } from "../support/seeded.js";
import { offer } from "./guard-simulation.js";
import { rateBetween } from "../support/rates.js";

/**
 * `workers` rows send through the guard until `horizonMs`; each answer takes `latency()` and fails when
 * `fails(i)`. Returns the send times of the failures, and the guard's stopper.
 */
async function simulate(options: { mode: FailureGuardMode; workers: number; horizonMs: number; latency: () => number; fails: (i: number) => boolean; stopAfterConsecutive?: number }) {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode: options.mode, ...(options.stopAfterConsecutive === undefined ? {} : { stopAfterConsecutive: options.stopAfterConsecutive }) });
  const failures: number[] = [];
  let sent = 0;
  let maxPending = 0;
  let pending = 0;
  const worker = async () => {
    for (;;) {
      const permit: Permit | undefined = await guard.permit();
      if (!permit) return;
      const i = sent++;
      pending++;
      maxPending = Math.max(maxPending, pending);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, options.latency()));
      pending--;
      if (options.fails(i)) {
        failures.push(permit.sentAt);
        permit.settle("failure", "400 Bad Request");
      } else permit.settle("success");
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, worker));
  await clock.advance(options.horizonMs);
  stopper.stop("end of the test");
  await clock.advance(100_000); // answers still out come back; no row sends again
  await done;
  guard.dispose();
  failures.sort((a, b) => a - b);
  return { failures, sent, maxPending, stopper };
}

const MODES: FailureGuardMode[] = ["strict", "adaptive"];

test.each(MODES)("%s: everything fails, 64 rows in flight, answers in 1 ms to 3 s: never more than 20 failures in any 12 s of send times", async (mode) => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const { failures, stopper } = await simulate({ mode, workers: 64, horizonMs: 120_000, latency: () => 1 + random() * 3_000, fails: () => true, stopAfterConsecutive: Infinity });
  expect(maxInWindow(failures, 12_000)).toBe(20); // the guard's window: Merge's 10 s and 2 s of margin
  // It goes on at the limit's pace, 20 every 12 s, instead of stopping (the stop was switched off).
  expect(failures.length).toBeGreaterThanOrEqual(190);
  expect(stopper.reason).toBe("end of the test");
});

test.each(MODES)("%s: half fail, at random: still never more than 20 in 10 s, and successes are not held back by failures long gone", async (mode) => {
  let seed = 11;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const { failures, sent } = await simulate({ mode, workers: 32, horizonMs: 60_000, latency: () => 5 + random() * 200, fails: () => random() < 0.5 });
  expect(maxInWindow(failures, 12_000)).toBeLessThanOrEqual(20);
  expect(sent).toBeGreaterThan(100);
});

test.each(MODES)("%s: unanswered requests count: at most 20 in flight while none has answered", async (mode) => {
  const { maxPending, sent } = await simulate({ mode, workers: 64, horizonMs: 5_000, latency: () => 60_000, fails: () => false });
  expect(maxPending).toBe(20);
  expect(sent).toBe(20);
});

test("strict, the price: successes answered in 1 ms go 20 at a time, 20 a millisecond, whatever the concurrency", async () => {
  const { sent, maxPending } = await simulate({ mode: "strict", workers: 64, horizonMs: 50, latency: () => 1, fails: () => false });
  expect(maxPending).toBe(20);
  expect(sent).toBeGreaterThanOrEqual(20 * 50);
});

test("adaptive: successes answered in 1 ms let every one of 64 rows be in flight", async () => {
  const { sent, maxPending } = await simulate({ mode: "adaptive", workers: 64, horizonMs: 50, latency: () => 1, fails: () => false });
  expect(maxPending).toBe(64);
  expect(sent).toBeGreaterThanOrEqual(64 * 50);
});

const aboutASecond = (random: () => number) => 800 + 400 * random();

test("adaptive, healthy: 500 requests a second answered in 1 s ±20% are all sent within 3 s of the start (strict: 20 a second)", async () => {
  const random = seeded(1);
  const adaptive = await offer({ mode: "adaptive", ratePerSecond: 500, horizonMs: 20_000, answer: () => ({ latencyMs: aboutASecond(random), fails: false }) });
  const strict = await offer({ mode: "strict", ratePerSecond: 500, horizonMs: 20_000, answer: () => ({ latencyMs: aboutASecond(random), fails: false }) });
  expect(rateBetween(adaptive.sent, 3_000, 20_000)).toBeGreaterThanOrEqual(0.95 * 500);
  expect(adaptive.peakInFlight).toBeGreaterThanOrEqual(500);
  expect(rateBetween(strict.sent, 3_000, 20_000)).toBeLessThan(22);
  expect(strict.peakInFlight).toBe(20);
});

test("adaptive, healthy with one row in 1,000 refused: the rate holds, the failures stay few", async () => {
  const random = seeded(2);
  const run = await offer({ mode: "adaptive", ratePerSecond: 500, horizonMs: 30_000, answer: () => ({ latencyMs: aboutASecond(random), fails: random() < 0.001 }) });
  expect(rateBetween(run.sent, 5_000, 30_000)).toBeGreaterThanOrEqual(0.95 * 500);
  expect(run.maxFailuresIn10s).toBeLessThanOrEqual(20);
});

test.each([1, 2, 3, 4, 5])("adaptive, mixed (seed %i): one in five fails after 1 s, 500 offered a second for 60 s: never more than 20 failures in any 10 s, by send or answer time", async (seed) => {
  const random = seeded(seed);
  const run = await offer({ mode: "adaptive", ratePerSecond: 500, horizonMs: 60_000, answer: () => ({ latencyMs: aboutASecond(random), fails: random() < 0.2 }) });
  expect(run.maxFailuresIn10s).toBeLessThanOrEqual(20);
  expect(run.stopped).toBe("end of the test");
  expect(run.sent.length).toBeGreaterThan(300); // it goes on, at what the limit allows (about 7 a second)
});

test.each([1, 2, 3])("adaptive, sudden (seed %i): 300 a second healthy with 300 in flight, then every new request refused within 20 ms: at most 20 failures, then the stop", async (seed) => {
  const random = seeded(seed);
  const run = await offer({ mode: "adaptive", ratePerSecond: 300, horizonMs: 30_000, answer: (_i, at) => (at >= 8_000 ? { latencyMs: 20 * random(), fails: true } : { latencyMs: aboutASecond(random), fails: false }) });
  expect(run.peakInFlight).toBeGreaterThanOrEqual(300);
  expect(run.maxFailuresIn10s).toBeLessThanOrEqual(20);
  expect(run.stopped).toMatch(/^failure guard: the last 20 requests all failed/);
});

test("adaptive: answers to requests sent before a failure do not end its probation or reset the run of failures", async () => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode: "adaptive" });
  const early = await guard.permit(); // sent before the failure: its success proves nothing
  const failed = await guard.permit();
  failed?.settle("failure", "401 Unauthorized");
  expect(guard.stats().probation).toBe(true);
  early?.settle("success");
  expect(guard.stats().probation).toBe(true);
  (await guard.permit())?.settle("success"); // sent after it: the probation ends
  expect(guard.stats().probation).toBe(false);
});

test("adaptive: after a 401 from an account that worked (a revoked key, perhaps), every unanswered request counts as a failure until a request sent after it succeeds", async () => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode: "adaptive" });
  for (let i = 0; i < 100; i++) (await guard.permit())?.settle("success"); // a healthy run so far
  const early: Permit[] = [];
  for (let i = 0; i < 30; i++) {
    const permit = await guard.permit();
    if (permit) early.push(permit);
  }
  expect(early).toHaveLength(30); // healthy: the failure rate lets 30 be in flight
  (await guard.permit())?.settle("failure", "401 Unauthorized", { account: "acct_a", exempt: false, accountLevel: true, established: true });
  let next: Permit | undefined;
  void guard.permit().then((permit) => (next = permit));
  await settle();
  expect(next).toBeUndefined(); // 1 failure and 30 unanswered: held, though the failure rate would let more go
  for (const permit of early.splice(0, 11)) permit.settle("success"); // sent before the 401: they prove nothing
  await settle();
  expect(next).toBeUndefined(); // 1 failure + 19 unanswered: were they all to fail, that is 20 already
  early.shift()?.settle("success");
  await settle();
  expect(next).toBeDefined(); // 1 + 18 + this one: 20 at the most
  next?.settle("success"); // sent after the 401: the key works
  const many: Permit[] = [];
  for (let i = 0; i < 10; i++) {
    const permit = await guard.permit();
    if (permit) many.push(permit);
  }
  expect(many).toHaveLength(10); // 1 failure + 27 unanswered again, let through on the failure rate
  for (const permit of [...early, ...many]) permit.settle("success");
});

test.each(MODES)("%s: a run of failures is counted in send order: a success ends the run of those sent before it, whatever order the answers came in", async (mode) => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode, stopAfterConsecutive: 4 });
  const sent: Permit[] = [];
  for (let i = 0; i < 7; i++) {
    const permit = await guard.permit();
    if (permit) sent.push(permit);
  }
  const [p0, p1, p2, p3, p4, p5, p6] = sent;
  p5?.settle("failure", "400 Bad Request"); // the last sent answers first
  p0?.settle("failure", "400 Bad Request");
  p2?.settle("success"); // ends the run of 0, not of 5 (sent after it)
  p1?.settle("failure", "400 Bad Request"); // sent before that success: in no run
  p3?.settle("failure", "400 Bad Request");
  p4?.settle("failure", "400 Bad Request");
  expect(stopper.stopped).toBe(false); // 3, 4 and 5 in a row
  p6?.settle("failure", "500 Internal Server Error");
  expect(stopper.reason).toMatch(/^failure guard: the last 4 requests all failed \(400 Bad Request ×3, 500 Internal Server Error ×1\)/);
});

test.each(MODES)("%s: 20 failures in a row stop the run with the reason; a success in between resets the count", async (mode) => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode });
  const fail = async (detail: string) => (await guard.permit())?.settle("failure", detail);
  for (let i = 0; i < 19; i++) await fail("500 Internal Server Error");
  (await guard.permit())?.settle("success");
  (await guard.permit())?.settle("neutral"); // a 429: counts neither way
  await clock.advance(12_001);
  for (let i = 0; i < 19; i++) await fail("400 Bad Request");
  expect(stopper.stopped).toBe(false);
  await fail("401 Unauthorized");
  expect(stopper.reason).toMatch(/^failure guard: the last 20 requests all failed \(400 Bad Request ×19, 401 Unauthorized ×1\)/);
  await expect(guard.permit()).resolves.toBeUndefined();
});

test.each(MODES)("%s: a wait for a permit ends when the run stops, and the guard's timer goes with it", async (mode) => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode, stopAfterConsecutive: Infinity });
  for (let i = 0; i < 20; i++) (await guard.permit())?.settle("failure");
  const waiting = guard.permit();
  await settle();
  expect(guard.inWindow()).toBe(20);
  stopper.stop("aborted");
  await expect(waiting).resolves.toBeUndefined();
});
