/** The per-account pacer under a fake clock: smooth starts, 429 pauses and cuts, recovery. */
import { AccountPacer, RATE_PLANS, resolveRate, type PaceChange } from "../../src/delivery/pacer.js";
import { Stopper } from "../../src/delivery/waits.js";
import { maxInWindow } from "../support/fake-merge.js";
import { FakeClock } from "../support/fake-clock.js";
import { perMinute } from "../support/rates.js";

/** Sends `count` requests through a pacer from `workers` concurrent rows; each takes `latencyMs`. Returns start times. */
async function run(pacer: AccountPacer, clock: FakeClock, count: number, options: { workers?: number; latencyMs?: number; horizonMs: number; onSend?: (at: number, i: number) => void }) {
  const starts: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (!(await pacer.lanes.acquire())) return;
      if (!(await pacer.waitTurn())) return;
      pacer.sent();
      starts.push(clock.now());
      options.onSend?.(clock.now(), i);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, options.latencyMs ?? 50));
      pacer.lanes.release();
    }
  };
  const done = Promise.all(Array.from({ length: options.workers ?? 16 }, worker));
  await clock.advance(options.horizonMs);
  await done;
  return starts;
}

test.each([
  ["launch", 100],
  ["professional", 400],
  ["enterprise", 600],
  ["3000", 3000],
])("%s: starts are spread evenly from the first one; no 10 s window holds more than 105%% of a sixth of the rate", async (_name, rate) => {
  const clock = new FakeClock();
  const pacer = new AccountPacer(rate, 8, new Stopper(clock));
  const count = Math.ceil(rate / 2); // 30 s worth
  const starts = await run(pacer, clock, count, { horizonMs: 40_000 });
  expect(starts).toHaveLength(count);
  expect(maxInWindow(starts, 10_000)).toBeLessThanOrEqual(Math.floor((rate / 6) * 1.05)); // within the 110% allowed
  // And no burst at the start: the first second holds about a sixtieth of the rate, not a minute's worth.
  expect(starts.filter((t) => t < 1_000).length).toBeLessThanOrEqual(Math.ceil(rate / 60) + 1);
  // It keeps up with the rate: 30 s worth takes no more than 31 s.
  expect(starts.at(-1)).toBeLessThanOrEqual(31_000);
});

test.each([
  ["up to 8 ms", 8],
  ["up to 15 ms", 15],
])("timers late by %s (a loaded machine): the schedule makes up for it, starts stay at least half an interval apart and within 105%% a window", async (_name, most) => {
  let seed = 3;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const clock = new FakeClock(() => random() * most);
  const pacer = new AccountPacer(3_000, 8, new Stopper(clock));
  const starts = await run(pacer, clock, 1_500, { horizonMs: 40_000, latencyMs: 5 });
  expect(perMinute(starts)).toBeGreaterThanOrEqual(0.98 * 3_000);
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? t));
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(10);
  expect(maxInWindow(starts, 10_000)).toBeLessThanOrEqual(525);
});

test("a turn delayed 5 s elsewhere (the failure guard, a global slot) restarts the schedule instead of bursting", async () => {
  const clock = new FakeClock();
  const pacer = new AccountPacer(3_000, 8, new Stopper(clock));
  const starts: number[] = [];
  for (let i = 0; i < 300; i++) {
    const turn = pacer.waitTurn();
    await clock.advance(i === 150 ? 5_000 : 20);
    expect(await turn).toBe(true);
    pacer.sent();
    starts.push(clock.now());
  }
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? t));
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20);
});

test("a turn held 190 ms after it was granted (the failure guard holding sends) is not made up: the next starts an interval after it, not half-intervals in a burst", async () => {
  const clock = new FakeClock();
  const pacer = new AccountPacer(6_000, 8, new Stopper(clock)); // 10 ms apart
  const starts: number[] = [];
  for (let i = 0; i < 40; i++) {
    let granted = false;
    const turn = pacer.waitTurn().then((ok) => (granted = ok));
    while (!granted) await clock.advance(1); // the turn, to the millisecond
    await turn;
    if (i === 20) await clock.advance(190); // the turn is granted, then the row waits for the guard's permit
    pacer.sent();
    starts.push(clock.now());
  }
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? t));
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(10);
  // (A turn late by the event loop alone is still made up: the test above.)
});

test("a 429 pauses the account for Retry-After and halves its rate once per burst; every 3 s without a 429 the rate doubles, up to nominal", async () => {
  const clock = new FakeClock();
  const changes: PaceChange[] = [];
  const pacer = new AccountPacer(600, 8, new Stopper(clock), (change) => changes.push(change));
  expect(pacer.interval()).toBe(100);
  const sentAt = clock.now();
  // Three answers to requests of the same burst: one cut.
  pacer.throttled(3_000, sentAt);
  pacer.throttled(3_000, sentAt);
  pacer.throttled(undefined, sentAt);
  expect(pacer.ratePerMinute()).toBe(300);
  expect(changes.map((c) => c.kind)).toEqual(["throttled", "throttled", "throttled"]);
  const turn = pacer.waitTurn();
  let granted = false;
  void turn.then(() => (granted = true));
  await clock.advance(2_999);
  expect(granted).toBe(false);
  await clock.advance(1);
  expect(granted).toBe(true);
  pacer.sent();
  // A 429 to a request sent after the cut cuts again.
  pacer.throttled(0, clock.now());
  expect(pacer.ratePerMinute()).toBe(150);
  // Recovery: doubles every 3 s without a 429, up to 600; a 429 starts the count again.
  await clock.advance(2_999);
  expect(pacer.ratePerMinute()).toBe(150);
  await clock.advance(1);
  expect(pacer.ratePerMinute()).toBe(300);
  pacer.throttled(0, clock.now());
  expect(pacer.ratePerMinute()).toBe(150);
  await clock.advance(3_000);
  expect(pacer.ratePerMinute()).toBe(300);
  await clock.advance(3_000);
  expect(pacer.ratePerMinute()).toBe(600);
  await clock.advance(30_000);
  expect(pacer.ratePerMinute()).toBe(600);
  expect(changes.filter((c) => c.kind === "recovered").map((c) => c.ratePerMinute)).toEqual([300, 300, 600]);
});

test("from the floor, the rate grows by at least 10% of nominal a step: back to nominal in 15 s, and the next turn is an interval at the new rate after the last", async () => {
  const clock = new FakeClock();
  const pacer = new AccountPacer(600, 8, new Stopper(clock));
  for (let i = 0; i < 7; i++) {
    await clock.advance(1);
    pacer.throttled(0, clock.now());
  }
  expect(pacer.ratePerMinute()).toBe(600 / 64); // a start every 6.4 s
  expect(await pacer.waitTurn()).toBe(true);
  pacer.sent();
  const sent = clock.now();
  // The turn after it would wait the floor's 6.4 s; 3 s after the last 429 the rate grows back (to
  // 9.375 + 60 = 69.375/min: 865 ms apart), and the turn, 865 ms after the last start, is granted then.
  const turn = pacer.waitTurn();
  let grantedAt = -1;
  void turn.then(() => (grantedAt = clock.now()));
  for (let i = 0; i < 40 && grantedAt < 0; i++) await clock.advance(100);
  expect(grantedAt - sent).toBeGreaterThanOrEqual(3_000);
  expect(grantedAt - sent).toBeLessThanOrEqual(3_100);
  pacer.sent();
  const rates = [];
  for (let i = 0; i < 5; i++) {
    await clock.advance(3_000);
    rates.push(pacer.ratePerMinute());
  }
  expect(rates).toEqual([138.75, 277.5, 555, 600, 600]);
});

test("without Retry-After a 429 pauses two intervals, at least 1 s; the rate never drops below 1/64 of nominal", async () => {
  const clock = new FakeClock();
  const changes: PaceChange[] = [];
  const pacer = new AccountPacer(100, 8, new Stopper(clock), (change) => changes.push(change));
  pacer.throttled(undefined, clock.now());
  expect(changes[0]?.pauseMs).toBe(1_200); // two intervals of 600 ms
  for (let i = 0; i < 20; i++) {
    await clock.advance(1);
    pacer.throttled(undefined, clock.now());
  }
  expect(pacer.ratePerMinute()).toBe(100 / 64);
});

test("a stopped run ends every wait for a turn or a lane", async () => {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const pacer = new AccountPacer(100, 1, stopper);
  pacer.throttled(60_000, clock.now());
  expect(await pacer.lanes.acquire()).toBe(true);
  const lane = pacer.lanes.acquire();
  const turn = pacer.waitTurn();
  stopper.stop("aborted");
  await expect(lane).resolves.toBe(false);
  await expect(turn).resolves.toBe(false);
});

test("rates: plans, numbers, and what is refused", () => {
  expect(resolveRate(undefined)).toBe(100);
  expect(resolveRate("launch")).toBe(RATE_PLANS.launch);
  expect(resolveRate("professional")).toBe(400);
  expect(resolveRate("enterprise")).toBe(600);
  expect(resolveRate(3000)).toBe(3000);
  for (const bad of [0, -1, Number.NaN, Infinity, "fast", "toString", null]) expect(resolveRate(bad)).toBeUndefined();
});
