/** createMergeWebhookHandler: every answer, handled once, failures handled again, bodies refused unread. */
import { createMergeWebhookHandler, isMergeWebhookEvent, type MergeWebhookEvent, type MergeWebhookHandlerOptions } from "../../src/webhooks/index.js";
import { delivery, ENGAGEMENT_ID, hmac, KEY, padded } from "./deliveries.js";

const URL_ = "https://receiver.example/webhooks/merge";

function post(body: BodyInit | null, signature: string | undefined, headers: Record<string, string> = {}): Request {
  const init: RequestInit & { duplex?: "half" } = { method: "POST", body, headers: { "content-type": "application/json", ...headers } };
  if (signature !== undefined) (init.headers as Record<string, string>)["x-merge-webhook-signature"] = signature;
  if (body instanceof ReadableStream) init.duplex = "half";
  return new Request(URL_, init);
}

function signed(body = delivery()): Request {
  return post(body, hmac(body));
}

function receiver(overrides: Partial<MergeWebhookHandlerOptions> = {}) {
  const events: MergeWebhookEvent[] = [];
  const errors: { error: unknown; status: number }[] = [];
  const handle = createMergeWebhookHandler({
    key: KEY,
    onEvent: (event) => {
      events.push(event);
    },
    onError: (error, context) => errors.push({ error, status: context.status }),
    ...overrides,
  });
  return { handle, events, errors };
}

async function text(response: Response): Promise<string> {
  return response.text();
}

test("200 for a verified delivery, onEvent awaited with the typed event and its id", async () => {
  let finished = false;
  const seen: { event: MergeWebhookEvent; id: string }[] = [];
  const { handle } = receiver({
    onEvent: async (event, { id }) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push({ event, id });
      finished = true;
    },
  });
  const body = delivery();
  const response = await handle(post(body, padded(hmac(body))));
  expect(response.status).toBe(200);
  expect(finished).toBe(true);
  expect(seen).toHaveLength(1);
  expect(seen[0]?.id).toBe(hmac(body));
  const event = seen[0]?.event;
  if (!event || !isMergeWebhookEvent(event, "Engagement.added")) throw new Error("not Engagement.added");
  expect(event.data.id).toBe(ENGAGEMENT_ID);
});

test("405 for anything but POST, with Allow", async () => {
  const { handle, events } = receiver();
  for (const method of ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]) {
    const response = await handle(new Request(URL_, { method }));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  }
  expect(events).toHaveLength(0);
});

test("401 for a missing, garbage, 10 kB or wrong signature, before any parsing", async () => {
  const { handle, events, errors } = receiver();
  const body = delivery();
  for (const signature of [undefined, "", "garbage", "x".repeat(10_000), hmac(body, "wrong-key-0123456789"), hmac(`${body} `)]) {
    const response = await handle(post(body, signature));
    expect(response.status).toBe(401);
  }
  // Not JSON, and not signed: 401, not 400 (nothing is parsed before verification).
  expect((await handle(post("{not json", hmac("something else")))).status).toBe(401);
  expect(events).toHaveLength(0);
  expect(errors.every(({ status }) => status === 401)).toBe(true);
});

test("a missing or malformed signature is answered 401 without reading the body", async () => {
  const { handle } = receiver();
  for (const signature of [undefined, "", "x".repeat(10_000), "not base64url!"]) {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const response = await handle(post(stream, signature));
    expect(response.status).toBe(401);
    expect(response.headers.get("connection")).toBe("close");
    // A ReadableStream pulls once to fill its queue when made; the handler itself reads nothing.
    expect(pulled).toBeLessThanOrEqual(1);
  }
});

test("400 for a signed body that is not JSON, or not a delivery", async () => {
  const { handle, events } = receiver();
  for (const body of ["{not json", "[]", JSON.stringify({ hook: {}, linked_account: { id: "a" }, data: {} })]) {
    const response = await handle(post(body, hmac(body)));
    expect(response.status).toBe(400);
  }
  expect(events).toHaveLength(0);
});

test("an event the spec does not model is passed on, not refused", async () => {
  const { handle, events } = receiver();
  const body = delivery("LinkedAccount.brand_new_event", { anything: [1, 2, 3] });
  expect((await handle(signed(body))).status).toBe(200);
  expect(events.map((event) => event.hook.event)).toEqual(["LinkedAccount.brand_new_event"]);
  expect(events[0]?.data).toEqual({ anything: [1, 2, 3] });
});

test("a repeated delivery is handled once; padded and unpadded signatures are one event", async () => {
  const { handle, events } = receiver();
  const body = delivery();
  const statuses = [];
  for (const signature of [hmac(body), hmac(body), padded(hmac(body))]) statuses.push((await handle(post(body, signature))).status);
  expect(statuses).toEqual([200, 200, 200]);
  expect(events).toHaveLength(1);
  // Another event is handled.
  expect((await handle(signed(delivery("Engagement.changed")))).status).toBe(200);
  expect(events).toHaveLength(2);
});

test("a delivery whose handling failed answers 5xx and is handled again when Merge retries", async () => {
  let calls = 0;
  const { handle, errors } = receiver({
    onEvent: () => {
      calls += 1;
      if (calls === 1) throw new Error(`database down, key ${KEY}`);
    },
  });
  const first = await handle(signed());
  expect(first.status).toBe(500);
  const answered = await text(first);
  expect(answered).not.toContain(KEY);
  expect(answered).not.toContain("database down");
  expect(errors[0]?.status).toBe(500);
  expect((await handle(signed())).status).toBe(200);
  expect(calls).toBe(2);
  expect((await handle(signed())).status).toBe(200);
  expect(calls).toBe(2);
});

test("the same event arriving while it is being handled is answered 503 (Merge retries), not handled twice", async () => {
  let release!: () => void;
  let calls = 0;
  const { handle } = receiver({
    onEvent: () => {
      calls += 1;
      return new Promise<void>((resolve) => (release = resolve));
    },
  });
  const first = handle(signed());
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = await handle(signed());
  expect(second.status).toBe(503);
  expect(second.headers.get("retry-after")).toBe("60");
  release();
  expect((await first).status).toBe(200);
  expect(calls).toBe(1);
});

test("dedupe: false handles every delivery; a failing dedupe store answers 503", async () => {
  const plain = receiver({ dedupe: false });
  await plain.handle(signed());
  await plain.handle(signed());
  expect(plain.events).toHaveLength(2);
  const broken = receiver({
    dedupe: {
      claim: () => Promise.reject(new Error("redis down")),
      complete: () => Promise.resolve(),
      release: () => Promise.resolve(),
    },
  });
  expect((await broken.handle(signed())).status).toBe(503);
  expect(broken.events).toHaveLength(0);
});

test("413 for a declared Content-Length over the limit, without reading the body", async () => {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  const { handle } = receiver({ maxBodyBytes: 1000 });
  const response = await handle(post(stream, hmac("x"), { "content-length": "2000" }));
  expect(response.status).toBe(413);
  expect(response.headers.get("connection")).toBe("close");
  expect(pulled).toBeLessThanOrEqual(1);
});

test("a 12 MB streamed body is refused with 413 after reading no more than the 5 MB limit", async () => {
  const CHUNK = 64 * 1024;
  const TOTAL = 12 * 1024 * 1024;
  let produced = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= TOTAL) return controller.close();
      produced += CHUNK;
      controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
    },
    cancel() {
      cancelled = true;
    },
  });
  const { handle, events } = receiver();
  const response = await handle(post(stream, hmac("x")));
  expect(response.status).toBe(413);
  expect(cancelled).toBe(true);
  // The stream may have queued a chunk or two ahead of the reader; nothing near 12 MB.
  expect(produced).toBeLessThanOrEqual(5 * 1024 * 1024 + 3 * CHUNK);
  expect(events).toHaveLength(0);
});

test("a body exactly at the limit is read and verified", async () => {
  const body = delivery();
  const size = new TextEncoder().encode(body).byteLength;
  const { handle } = receiver({ maxBodyBytes: size });
  expect((await handle(signed(body))).status).toBe(200);
  const { handle: smaller } = receiver({ maxBodyBytes: size - 1 });
  expect((await smaller(signed(body))).status).toBe(413);
});

test("no answer carries the key, the signature or the body", async () => {
  const { handle } = receiver({ onEvent: () => Promise.reject(new Error(KEY)) });
  const body = delivery();
  const requests = [signed(body), post(body, "bad"), post("{x", hmac("{x")), new Request(URL_), post(body, hmac(body), { "content-length": "99999999" })];
  for (const request of requests) {
    const response = await handle(request);
    const shown = `${await text(response)} ${JSON.stringify([...response.headers])}`;
    for (const secret of [KEY, hmac(body), "Müller"]) expect(shown).not.toContain(secret);
  }
});

test("options are checked when the handler is made, without showing the key", () => {
  const onEvent = () => {};
  expect(() => createMergeWebhookHandler({ key: "", onEvent })).toThrow(/key/);
  expect(() => createMergeWebhookHandler({ key: KEY, onEvent, maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
  expect(() => createMergeWebhookHandler({ key: KEY, onEvent: undefined as unknown as () => void })).toThrow(/onEvent/);
});
