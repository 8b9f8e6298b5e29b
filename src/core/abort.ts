/**
 * One "abort" listener per caller signal, however many calls share it. A server passes its request's
 * signal to every Merge call it makes, a bulk import passes one Ctrl-C signal to thousands: a listener
 * per attempt (and per retry's sleep) would trip Node's `MaxListenersExceededWarning` past 10 and keep
 * every call in flight reachable from a long-lived signal. Calls subscribe here instead; the one
 * listener fans out to them and is removed as soon as the last call settles.
 */

type Subscriber = (reason: unknown) => void;

interface Fanout {
  readonly subscribers: Set<Subscriber>;
  readonly dispatch: () => void;
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Calls `subscriber` with the signal's reason when it aborts (at once if it already has). Returns the
 * function that unsubscribes; call it when the work settles.
 */
export function onAbort(signal: AbortSignal, subscriber: Subscriber): () => void {
  if (signal.aborted) {
    subscriber(signal.reason);
    return noop;
  }
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    const subscribers = new Set<Subscriber>();
    const dispatch = () => {
      fanouts.delete(signal);
      // A copy: subscribers may unsubscribe (or start new work) while they run.
      for (const each of [...subscribers]) each(signal.reason);
      subscribers.clear();
    };
    fanout = { subscribers, dispatch };
    fanouts.set(signal, fanout);
    signal.addEventListener("abort", dispatch, { once: true });
  }
  const own = fanout;
  // Wrapped, so that one function subscribed twice counts twice.
  const entry: Subscriber = (reason) => subscriber(reason);
  own.subscribers.add(entry);
  return () => {
    if (!own.subscribers.delete(entry) || own.subscribers.size > 0) return;
    signal.removeEventListener("abort", own.dispatch);
    if (fanouts.get(signal) === own) fanouts.delete(signal);
  };
}

/** Throws the signal's reason (an `AbortError` unless the caller gave another) if it has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

function noop(): void {}

/** Waits for `work`, or rejects with the signal's reason as soon as it aborts (the work goes on). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const unsubscribe = onAbort(signal, reject);
    work.then(resolve, reject).finally(unsubscribe);
  });
}
