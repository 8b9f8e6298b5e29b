import { onAbort } from "../core/abort.js";

export interface SleepOptions {
  /** Rejects with the signal's reason as soon as it aborts. */
  signal?: AbortSignal | undefined;
  /** The wait does not keep the process alive (a worker's shutdown grace, not work of its own). */
  unref?: boolean;
}

/** Waits `ms` (a negative wait is none). */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, unref = false } = options;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe?.();
      resolve();
    }, Math.max(0, ms));
    if (unref) timer.unref();
    const unsubscribe = signal
      ? onAbort(signal, (reason) => {
          clearTimeout(timer);
          reject(reason);
        })
      : undefined;
  });
}

/** Waits for the event loop's next check phase: after the timers due and the I/O that has arrived have run. */
export function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
