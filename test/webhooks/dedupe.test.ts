/**
 * One suite for both dedupe stores: in-memory, and Redis (a real redis-server) shared by two handlers,
 * as two processes of a fleet would share it. Then the handler over each store: a repeated delivery is
 * handled once, a failed one again.
 */
import { Redis } from "ioredis";
import {
  createMemoryWebhookDedupe,
  createMergeWebhookHandler,
  createRedisWebhookDedupe,
  type MergeWebhookEvent,
  type WebhookDedupeStore,
} from "../../src/webhooks/index.js";
import { useRedis } from "../support/redis.js";
import { delivery, hmac, KEY } from "./deliveries.js";

let redis: Redis;
let other: Redis;
let clock = 0;

// Declared before useRedis: jest runs afterAll hooks in the order declared, so the clients quit before their server stops.
afterAll(async () => {
  await Promise.all([redis?.quit(), other?.quit()]);
});
const server = useRedis();
beforeAll(() => {
  redis = new Redis(server().url);
  other = new Redis(server().url);
});

/** Two views of one store, as two receiver processes see it (for memory: the same object). */
interface Pair {
  a: WebhookDedupeStore;
  b: WebhookDedupeStore;
  /** Lets `ms` pass for the store's expiry. */
  wait(ms: number): Promise<void>;
  /**
   * Whether `a` and `b` are separate holders (two Redis clients). One in-memory store cannot tell its
   * callers apart; the handler itself never releases a claim whose lease has run out.
   */
  distinct: boolean;
}

let prefixes = 0;
const stores: [string, () => Pair][] = [
  [
    "memory",
    () => {
      clock = 1_000_000;
      const store = createMemoryWebhookDedupe({ now: () => clock });
      return {
        a: store,
        b: store,
        wait: async (ms) => {
          clock += ms;
        },
        distinct: false,
      };
    },
  ],
  [
    "redis",
    () => {
      const prefix = `test:${(prefixes += 1)}:`;
      return {
        a: createRedisWebhookDedupe(redis, { prefix }),
        b: createRedisWebhookDedupe(other, { prefix }),
        wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms + 20)),
        distinct: true,
      };
    },
  ],
];

describe.each(stores)("the %s store", (_name, make) => {
  test("claim, then done after complete, for every holder", async () => {
    const { a, b } = make();
    await expect(a.claim("e1", 5_000)).resolves.toBe("claimed");
    await expect(b.claim("e1", 5_000)).resolves.toBe("busy");
    await a.complete("e1", 60_000);
    await expect(a.claim("e1", 5_000)).resolves.toBe("done");
    await expect(b.claim("e1", 5_000)).resolves.toBe("done");
    await expect(b.claim("e2", 5_000)).resolves.toBe("claimed");
  });

  test("release gives a failed claim back", async () => {
    const { a, b, distinct } = make();
    await expect(a.claim("e1", 5_000)).resolves.toBe("claimed");
    await a.release("e1");
    await expect(b.claim("e1", 5_000)).resolves.toBe("claimed");
    await expect(a.claim("e1", 5_000)).resolves.toBe("busy");
    if (!distinct) return;
    // A release by someone who does not hold the claim leaves it.
    await a.release("e1");
    await expect(a.claim("e1", 5_000)).resolves.toBe("busy");
  });

  test("a claim expires after its lease (a crashed handler does not block the event)", async () => {
    const { a, b, wait, distinct } = make();
    await expect(a.claim("e1", 150)).resolves.toBe("claimed");
    await wait(200);
    await expect(b.claim("e1", 5_000)).resolves.toBe("claimed");
    if (!distinct) return;
    // The first holder's late release does not free the second holder's claim.
    await a.release("e1");
    await expect(a.claim("e1", 5_000)).resolves.toBe("busy");
  });

  test("done expires after its ttl", async () => {
    const { a, wait } = make();
    await a.claim("e1", 5_000);
    await a.complete("e1", 150);
    await expect(a.claim("e1", 5_000)).resolves.toBe("done");
    await wait(200);
    await expect(a.claim("e1", 5_000)).resolves.toBe("claimed");
  });

  test("two handlers on the store: a delivery to both is handled once; a failure is handled again", async () => {
    const { a, b } = make();
    const handled: MergeWebhookEvent[] = [];
    let failNext = true;
    const onEvent = async (event: MergeWebhookEvent) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (event.hook.event === "Engagement.changed" && failNext) {
        failNext = false;
        throw new Error("handler failed");
      }
      handled.push(event);
    };
    const one = createMergeWebhookHandler({ key: KEY, onEvent, dedupe: a });
    const two = createMergeWebhookHandler({ key: KEY, onEvent, dedupe: b });
    const request = (body: string) => new Request("http://receiver/", { method: "POST", body, headers: { "x-merge-webhook-signature": hmac(body) } });
    const added = delivery("Engagement.added");
    const [first, second] = await Promise.all([one(request(added)), two(request(added))]);
    expect([first.status, second.status].sort()).toEqual([200, 503]);
    expect((await two(request(added))).status).toBe(200);
    expect(handled).toHaveLength(1);

    const changed = delivery("Engagement.changed");
    expect((await one(request(changed))).status).toBe(500);
    expect((await two(request(changed))).status).toBe(200);
    expect((await one(request(changed))).status).toBe(200);
    expect(handled.map((event) => event.hook.event)).toEqual(["Engagement.added", "Engagement.changed"]);
  });
});

test("the memory store is bounded: the oldest ids go first", async () => {
  const store = createMemoryWebhookDedupe({ maxEntries: 3 });
  for (const id of ["a", "b", "c", "d"]) {
    await store.claim(id, 60_000);
    await store.complete(id, 60_000);
  }
  await expect(store.claim("a", 60_000)).resolves.toBe("claimed");
  await expect(store.claim("d", 60_000)).resolves.toBe("done");
  expect(() => createMemoryWebhookDedupe({ maxEntries: 0 })).toThrow(/maxEntries/);
});

test("the Redis store keeps one key per delivery, with an expiry, holding no secret", async () => {
  const store = createRedisWebhookDedupe(redis, { prefix: "inspect:" });
  await store.claim("id-1", 60_000);
  await store.complete("id-1", 3_600_000);
  expect(await redis.keys("inspect:*")).toEqual(["inspect:id-1"]);
  expect(await redis.get("inspect:id-1")).toBe("done");
  const ttl = await redis.pttl("inspect:id-1");
  expect(ttl).toBeGreaterThan(3_500_000);
  expect(ttl).toBeLessThanOrEqual(3_600_000);
});
