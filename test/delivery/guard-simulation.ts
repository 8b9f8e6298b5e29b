/**
 * The failure guard under a fake clock with an offered load: requests arrive at `ratePerSecond` (the
 * accounts' pacers, summed), wait for a permit in turn, and are answered after `latency` with a success
 * or a failure. What the issue-17 tests measure: throughput, failures per window, the peak in flight.
 */
import { FailureGuard, type FailureGuardMode } from "../../src/delivery/failure-guard.js";
import { Stopper } from "../../src/delivery/waits.js";
import { maxInWindow } from "../support/fake-merge.js";
import { FakeClock } from "../support/fake-clock.js";

export interface Offered {
  mode: FailureGuardMode;
  ratePerSecond: number;
  horizonMs: number;
  /** How long request `i`, sent at `sentAt`, takes to answer, and whether it fails. */
  answer: (i: number, sentAt: number) => { latencyMs: number; fails: boolean };
  stopAfterConsecutive?: number;
}

export interface OfferedResult {
  /** Send times of all requests, and of the failed ones; answer times of the failed ones. */
  sent: number[];
  failedSent: number[];
  failedAnswered: number[];
  peakInFlight: number;
  stopped: string | undefined;
  /** The most failures in any 10 s, by send time and by answer time. */
  maxFailuresIn10s: number;
}

export async function offer(options: Offered): Promise<OfferedResult> {
  const clock = new FakeClock();
  const stopper = new Stopper(clock);
  const guard = new FailureGuard(stopper, { mode: options.mode, ...(options.stopAfterConsecutive === undefined ? {} : { stopAfterConsecutive: options.stopAfterConsecutive }) });
  const sent: number[] = [];
  const failedSent: number[] = [];
  const failedAnswered: number[] = [];
  const tasks: Promise<void>[] = [];
  let count = 0;
  const one = async () => {
    const permit = await guard.permit();
    if (!permit) return;
    const i = count++;
    const at = clock.now();
    sent.push(at);
    const { latencyMs, fails } = options.answer(i, at);
    await new Promise<void>((resolve) => clock.setTimeout(resolve, latencyMs));
    if (fails) {
      failedSent.push(at);
      failedAnswered.push(clock.now());
      permit.settle("failure", "400 Bad Request");
    } else permit.settle("success");
  };
  const interval = 1_000 / options.ratePerSecond;
  const arrive = () => {
    if (stopper.stopped || clock.now() >= options.horizonMs) return;
    tasks.push(one());
    clock.setTimeout(arrive, interval);
  };
  arrive();
  await clock.advance(options.horizonMs);
  stopper.stop("end of the test");
  await clock.advance(60_000);
  await Promise.all(tasks);
  guard.dispose();
  failedSent.sort((a, b) => a - b);
  failedAnswered.sort((a, b) => a - b);
  return {
    sent,
    failedSent,
    failedAnswered,
    peakInFlight: guard.stats().peakInFlight,
    stopped: stopper.reason,
    maxFailuresIn10s: Math.max(maxInWindow(failedSent, 10_000), maxInWindow(failedAnswered, 10_000)),
  };
}
