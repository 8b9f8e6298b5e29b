/**
 * The waits of a bulk run, all cancelled at once when the run stops (Ctrl-C, the failure guard): one
 * stop function per waiting row in a set, never a listener per row on the caller's signal.
 * Time comes from a `Clock`, so the pacer and the guard run under a fake clock in unit tests.
 */

/** Where time comes from. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` after `ms`; returns the function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

/** The stop switch of a run: `stop(reason)` once, and every wait registered here ends. */
export class Stopper {
  private why: string | undefined;
  private readonly cancels = new Set<() => void>();

  constructor(readonly clock: Clock = realClock) {}

  get stopped(): boolean {
    return this.why !== undefined;
  }

  /** Why the run stopped, once it has. */
  get reason(): string | undefined {
    return this.why;
  }

  /** Stops the run (the first reason wins) and ends every registered wait. */
  stop(reason: string): void {
    if (this.why !== undefined) return;
    this.why = reason;
    const cancels = [...this.cancels];
    this.cancels.clear();
    for (const cancel of cancels) cancel();
  }

  /** Registers what to do on stop (at once if stopped already); returns the function that unregisters it. */
  onStop(cancel: () => void): () => void {
    if (this.why !== undefined) {
      cancel();
      return () => {};
    }
    this.cancels.add(cancel);
    return () => this.cancels.delete(cancel);
  }

  /** Resolves `true` after `ms`, or `false` as soon as the run stops. */
  sleep(ms: number): Promise<boolean> {
    if (this.why !== undefined) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const cancelTimer = this.clock.setTimeout(() => {
        unregister();
        resolve(true);
      }, ms);
      const unregister = this.onStop(() => {
        cancelTimer();
        resolve(false);
      });
    });
  }
}

/** A counting semaphore with a FIFO queue; a wait ends with `false` when the run stops. */
export class Semaphore {
  private used = 0;
  private readonly queue: Array<(granted: boolean) => void> = [];

  constructor(readonly limit: number, private readonly stopper: Stopper) {
    stopper.onStop(() => {
      for (const waiter of this.queue.splice(0)) waiter(false);
    });
  }

  get inUse(): number {
    return this.used;
  }

  acquire(): Promise<boolean> {
    if (this.stopper.stopped) return Promise.resolve(false);
    if (this.used < this.limit && this.queue.length === 0) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next(true);
    else this.used--;
  }
}
