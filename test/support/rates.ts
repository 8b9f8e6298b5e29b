/** Rates read off sorted send or arrival times (milliseconds), for the bulk tests and `bench:bulk`. */

/** Times per second between `fromMs` and `toMs` (0 for an empty span). */
export function rateBetween(times: readonly number[], fromMs: number, toMs: number): number {
  return toMs > fromMs ? (times.filter((t) => t >= fromMs && t < toMs).length / (toMs - fromMs)) * 1_000 : 0;
}

/**
 * Times per second once a ramp of `rampMs` after the first is over, to the last whole second (the tail,
 * where rows run out, is not the rate).
 */
export function steadyRate(times: readonly number[], rampMs: number): number {
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  return rateBetween(times, first + rampMs, first + Math.floor((last - first) / 1_000) * 1_000);
}

/** Times per minute from the first to the last (0 for fewer than two). */
export function perMinute(times: readonly number[]): number {
  const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
  return times.length < 2 ? 0 : ((times.length - 1) / span) * 60_000;
}
