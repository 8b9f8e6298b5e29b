import { getEventListeners } from "node:events";
import { onAbort, throwIfAborted } from "../../src/core/abort.js";

const listeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

test("many subscribers share one listener, removed with the last", () => {
  const controller = new AbortController();
  const unsubscribers = Array.from({ length: 100 }, () => onAbort(controller.signal, () => undefined));
  expect(listeners(controller.signal)).toBe(1);
  for (const unsubscribe of unsubscribers.slice(1)) unsubscribe();
  expect(listeners(controller.signal)).toBe(1);
  unsubscribers[0]?.();
  expect(listeners(controller.signal)).toBe(0);
  // Unsubscribing twice changes nothing; a new subscriber adds the listener back.
  unsubscribers[0]?.();
  const again = onAbort(controller.signal, () => undefined);
  expect(listeners(controller.signal)).toBe(1);
  again();
  expect(listeners(controller.signal)).toBe(0);
});

test("abort reaches every subscriber once with the reason, including one subscribed twice, and those that unsubscribe while it runs", () => {
  const controller = new AbortController();
  const seen: unknown[] = [];
  const subscriber = (reason: unknown) => seen.push(reason);
  onAbort(controller.signal, subscriber);
  onAbort(controller.signal, subscriber);
  let unsubscribeSelf = () => {};
  unsubscribeSelf = onAbort(controller.signal, (reason) => {
    unsubscribeSelf();
    seen.push(reason);
  });
  const reason = new Error("stop");
  controller.abort(reason);
  controller.abort(new Error("again"));
  expect(seen).toEqual([reason, reason, reason]);
  expect(listeners(controller.signal)).toBe(0);
});

test("a signal that has already aborted calls the subscriber at once and adds no listener", () => {
  const controller = new AbortController();
  controller.abort();
  const seen: unknown[] = [];
  const unsubscribe = onAbort(controller.signal, (reason) => seen.push(reason));
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({ name: "AbortError" });
  expect(listeners(controller.signal)).toBe(0);
  unsubscribe();
  expect(() => throwIfAborted(controller.signal)).toThrow(expect.objectContaining({ name: "AbortError" }));
  expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
  expect(() => throwIfAborted(undefined)).not.toThrow();
});
