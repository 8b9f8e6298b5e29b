/** The failure guard under a fake clock: no window of its 12 s (Merge's 10 s and a margin) ever holds more than 20 failures by send time. */
import { FailureGuard, type Permit } from "../../src/bulk/failure-guard.js";
import { Stopper } from "../../src/bulk/waits.js";
import { maxInWindow } from "./bulk-server.js";
import { FakeClock, settle } from "./fake-clock.js";

/**
 * `workers` rows send through the guard until `horizonMs`; each answer takes `latency()` and fails when
 * `fails(i)`. Returns the send times of the failures, and the guard's stopper.
 */
async function simulate(options: { workers: number; horizonMs: number; latency: () => number; fails: (i: number) => boolean; stopAfterConsecutive?: number }) {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, options.stopAfterConsecutive === undefined ? {} : { stopAfterConsecutive: options.stopAfterConsecutive });
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

test("everything fails, 64 rows in flight, answers in 1 ms to 3 s: never more than 20 failures in any 12 s of send times", async () => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const { failures, stopper } = await simulate({ workers: 64, horizonMs: 120_000, latency: () => 1 + random() * 3_000, fails: () => true, stopAfterConsecutive: Infinity });
  expect(maxInWindow(failures, 12_000)).toBe(20); // the guard's window: Merge's 10 s and 2 s of margin
  // It goes on at the limit's pace, 20 every 12 s, instead of stopping (the stop was switched off).
  expect(failures.length).toBeGreaterThanOrEqual(190);
  expect(stopper.reason).toBe("end of the test");
});

test("half fail, at random: still never more than 20 in 10 s, and successes are not held back by failures long gone", async () => {
  let seed = 11;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const { failures, sent } = await simulate({ workers: 32, horizonMs: 60_000, latency: () => 5 + random() * 200, fails: () => random() < 0.5 });
  expect(maxInWindow(failures, 12_000)).toBeLessThanOrEqual(20);
  expect(sent).toBeGreaterThan(100);
});

test("unanswered requests younger than the window count: at most 20 in flight while none has answered", async () => {
  const { maxPending, sent } = await simulate({ workers: 64, horizonMs: 5_000, latency: () => 60_000, fails: () => false });
  expect(maxPending).toBe(20);
  expect(sent).toBe(20);
});

test("the price: successes answered in 1 ms go 20 at a time, 20 a millisecond, whatever the concurrency", async () => {
  const { sent, maxPending } = await simulate({ workers: 64, horizonMs: 50, latency: () => 1, fails: () => false });
  expect(maxPending).toBe(20);
  expect(sent).toBeGreaterThanOrEqual(20 * 50);
});

test("20 failures in a row stop the run with the reason; a success in between resets the count", async () => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper);
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

test("a wait for a permit ends when the run stops, and the guard's timer goes with it", async () => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { stopAfterConsecutive: Infinity });
  for (let i = 0; i < 20; i++) (await guard.permit())?.settle("failure");
  const waiting = guard.permit();
  await settle();
  expect(guard.inWindow()).toBe(20);
  stopper.stop("aborted");
  await expect(waiting).resolves.toBeUndefined();
});
