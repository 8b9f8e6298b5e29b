/**
 * startMockServer({ webhooks }): the mock sends Merge's signed webhooks for the writes it answers, to
 * a real receiver, and keeps the key to itself. Real processes throughout: the runner, Prism, the proxy.
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { createMergeCrmClient } from "../../src/index.js";
import { MOCK_WEBHOOK_LINKED_ACCOUNT, startMockServer, type MockServer } from "../../src/mock/index.js";
import { listenOnLoopback, type Loopback } from "../support/loopback.js";

interface Delivery {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  /** The status the receiver answered. */
  status: number;
}

/**
 * A webhook receiver on a free loopback port that records each delivery; `answer` (settable) gives
 * the status of each, from the delivery's 1-based number.
 */
async function receiver() {
  const deliveries: Delivery[] = [];
  let notify: (() => void) | undefined;
  const state = { answer: (_n: number): number => 200 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const status = state.answer(deliveries.length + 1);
      deliveries.push({ headers: req.headers, raw: Buffer.concat(chunks), status });
      res.writeHead(status, { "Content-Type": "application/json" }).end("{}");
      notify?.();
    });
  });
  const loopback: Loopback = await listenOnLoopback(server);
  return {
    url: `${loopback.url}/webhooks/merge`,
    deliveries,
    state,
    stop: () => loopback.stop(),
    /** Resolves with the deliveries once there are `count` in all. */
    async received(count: number, timeoutMs = 10_000): Promise<Delivery[]> {
      const deadline = Date.now() + timeoutMs;
      while (deliveries.length < count) {
        if (Date.now() > deadline) throw new Error(`${deliveries.length} of ${count} deliveries within ${timeoutMs} ms`);
        await Promise.race([new Promise<void>((resolve) => (notify = resolve)), sleep(100)]);
      }
      return [...deliveries];
    },
  };
}

function sign(key: string, raw: Buffer): string {
  return createHmac("sha256", key).update(raw).digest("base64url");
}

interface Payload {
  hook: { id: string; event: string; target: string };
  linked_account: Record<string, unknown>;
  data: { id?: string };
}

function payload(delivery: Delivery | undefined): Payload {
  if (!delivery) throw new Error("a delivery is missing");
  return JSON.parse(delivery.raw.toString("utf8")) as Payload;
}

/** A port nothing listens on: one the system just gave out and took back. */
async function deadUrl(): Promise<string> {
  const loopback = await listenOnLoopback(createServer());
  await loopback.stop();
  return `${loopback.url}/webhooks/merge`;
}

const client = (mock: MockServer) => createMergeCrmClient({ apiKey: "test", accountToken: "test", baseUrl: mock.url });

// Two mocks, started together (a start takes seconds): one sending to a live receiver, one to a dead URL.
const KEY = `whsec-${randomUUID()}`;
const DEAD_KEY = `whsec-${randomUUID()}`;
let hooks: Awaited<ReturnType<typeof receiver>>;
let live: MockServer;
let dead: MockServer;
beforeAll(async () => {
  hooks = await receiver();
  [live, dead] = await Promise.all([
    startMockServer({ webhooks: { url: hooks.url, key: KEY } }),
    startMockServer({ webhooks: { url: await deadUrl(), key: DEAD_KEY } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([live?.close(), dead?.close(), hooks?.stop()]);
});

describe("startMockServer({ webhooks })", () => {
  test("a create sends Engagement.added and an update Engagement.changed, signed, with the model the client got", async () => {
    const merge = client(live);
    const created = await merge.engagements.create({ subject: "hello", direction: "OUTBOUND" });
    const id = created.model.id;
    expect(id).toEqual(expect.any(String));
    const updated = await merge.engagements.update(id ?? "", { subject: "changed" });

    const [added, changed] = await hooks.received(2);
    for (const delivery of [added, changed]) {
      expect(delivery?.headers["content-type"]).toBe("application/json");
      expect(delivery?.headers["x-merge-webhook-signature"]).toBe(sign(KEY, delivery?.raw ?? Buffer.alloc(0)));
    }
    const addedEvent = payload(added);
    const changedEvent = payload(changed);
    expect(addedEvent.hook).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), event: "Engagement.added", target: hooks.url });
    expect(addedEvent.linked_account).toEqual({ ...MOCK_WEBHOOK_LINKED_ACCOUNT });
    expect(addedEvent.linked_account).toMatchObject({ category: "crm", status: "COMPLETE", webhook_listener_url: null, is_duplicate: false });
    expect(addedEvent.data.id).toBe(id);
    expect(changedEvent.hook).toEqual({ id: addedEvent.hook.id, event: "Engagement.changed", target: hooks.url });
    expect(changedEvent.data.id).toBe(updated.model.id);

    // The proxy passes other answers through as Prism gave them, and they send nothing.
    const invalid = await fetch(`${live.url}/crm/v1/engagements`, {
      method: "POST",
      headers: { Authorization: "Bearer x", "X-Account-Token": "t", "Content-Type": "application/json" },
      body: JSON.stringify({ model: { direction: "SIDEWAYS" } }),
    });
    await invalid.arrayBuffer();
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get("sl-violations")).toContain("direction");
    await merge.engagements.list();
    await merge.engagements.retrieve(id ?? "");
    await sleep(300);
    expect(hooks.deliveries).toHaveLength(2);
  }, 20_000);

  test("a delivery answered 500 is retried with the same bytes, and the next one waits for it", async () => {
    const before = hooks.deliveries.length;
    hooks.state.answer = (n) => (n === before + 1 ? 500 : 200);
    const merge = client(live);
    const created = await merge.engagements.create({ subject: "first" });
    await merge.engagements.update(created.model.id ?? "", { subject: "second" });

    const [failed, retried, next] = (await hooks.received(before + 3)).slice(before);
    expect(failed?.status).toBe(500);
    expect(retried?.status).toBe(200);
    expect(retried?.raw.equals(failed?.raw ?? Buffer.alloc(0))).toBe(true);
    expect(retried?.headers["x-merge-webhook-signature"]).toBe(sign(KEY, retried?.raw ?? Buffer.alloc(0)));
    expect(payload(retried).hook.event).toBe("Engagement.added");
    expect(payload(next).hook.event).toBe("Engagement.changed");
  }, 20_000);

  test("a dead receiver: the mock answers at once, keeps serving, and drops the delivery with a line", async () => {
    const merge = client(dead);
    const started = Date.now();
    const created = await merge.engagements.create({ subject: "nobody listens" });
    expect(Date.now() - started).toBeLessThan(2_000);
    // While the delivery fails and is retried, the mock serves on.
    for (let i = 0; i < 5; i++) {
      await expect(merge.engagements.retrieve(created.model.id ?? "")).resolves.toMatchObject({ id: expect.any(String) });
      await sleep(200);
    }
    expect(dead.running).toBe(true);

    await dead.close();
    const exit = await dead.exited;
    expect(exit.signal).toBe("SIGTERM");
    expect(exit.output.some((line) => line.includes("retrying"))).toBe(true);
    expect(exit.output.some((line) => line.includes("Engagement.added") && line.includes("dropped after 5 attempts"))).toBe(true);
    expect(exit.output.join("\n")).not.toContain(DEAD_KEY);
  }, 20_000);

  test("the key is in neither the runner's command line (ps shows it) nor environment, nor its output", async () => {
    expect(readFileSync(`/proc/${live.pid}/cmdline`, "utf8")).not.toContain(KEY);
    expect(readFileSync(`/proc/${live.pid}/environ`, "utf8")).not.toContain(KEY);
    await live.close();
    const exit = await live.exited;
    expect(exit.signal).toBe("SIGTERM");
    expect(exit.output.some((line) => line.includes("Engagement.changed") && line.includes("delivered"))).toBe(true);
    expect(exit.output.some((line) => line.includes("answered 500") && line.includes("retrying"))).toBe(true);
    expect(exit.output.join("\n")).not.toContain(KEY);
  }, 20_000);

  test("bad options reject with a TypeError naming the option, never quoting the key", async () => {
    const key = `whsec-${randomUUID()}`;
    await expect(startMockServer({ webhooks: { url: "ftp://example.com/hooks", key } })).rejects.toThrow(
      new TypeError('startMockServer: webhooks.url must be an http:// or https:// URL (got "ftp://example.com/hooks")'),
    );
    await expect(startMockServer({ webhooks: { url: "http://127.0.0.1:9/hooks", key: "" } })).rejects.toThrow(
      new TypeError("startMockServer: webhooks.key must be a non-empty string (the webhook signature key)"),
    );
    for (const url of ["not a url", "mailto:someone@example.com", "127.0.0.1:3000/hooks", ""]) {
      const error: unknown = await startMockServer({ webhooks: { url, key } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(String(error)).toMatch(/webhooks\.url/);
      expect(String(error)).not.toContain(key);
    }
  });
});
