/**
 * Handled once: a store of the deliveries seen, by signature. A delivery is claimed before its handling,
 * marked done after it succeeded, and released when it failed, so that Merge's retry handles it again.
 * One in-process store and one on Redis (for a fleet of receivers), behind one small interface.
 */

/** What `claim` found. */
export type WebhookClaim =
  /** Nobody had it: the caller handles it, then calls `complete` or `release`. */
  | "claimed"
  /** It was handled before (and succeeded): answer 2xx without handling it again. */
  | "done"
  /** Another handling of it is running now: answer so that Merge retries later. */
  | "busy";

/**
 * Where a receiver remembers deliveries. Implement it over any shared store; the two here are
 * `createMemoryWebhookDedupe` (one process) and `createRedisWebhookDedupe` (a fleet).
 */
export interface WebhookDedupeStore {
  /** Claims `id` for `leaseMs` (after which a crashed handling no longer blocks it). */
  claim(id: string, leaseMs: number): Promise<WebhookClaim>;
  /** Marks `id` handled for `ttlMs`: deliveries of it within that time are answered without handling. */
  complete(id: string, ttlMs: number): Promise<void>;
  /** Gives `id` up after a failed handling, so that the next delivery of it is handled. */
  release(id: string): Promise<void>;
}

/** Options of `createMemoryWebhookDedupe`. */
export interface MemoryWebhookDedupeOptions {
  /** At most this many ids are kept; the oldest go first. @default 10000 */
  maxEntries?: number;
  /** The clock, in milliseconds (for tests). @default Date.now */
  now?: () => number;
}

interface MemoryEntry {
  state: "claimed" | "done";
  expiresAt: number;
}

/**
 * An in-process store: right for one receiver process. Bounded (`maxEntries`, oldest dropped first)
 * and every entry expires (`ttlMs` of `complete`, `leaseMs` of `claim`). Across processes or restarts,
 * use `createRedisWebhookDedupe`.
 */
export function createMemoryWebhookDedupe(options: MemoryWebhookDedupeOptions = {}): WebhookDedupeStore {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError("createMemoryWebhookDedupe: maxEntries must be a positive integer");
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on each write keeps the oldest write first.
  const entries = new Map<string, MemoryEntry>();
  const put = (id: string, entry: MemoryEntry) => {
    entries.delete(id);
    entries.set(id, entry);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
  };
  return {
    async claim(id, leaseMs) {
      const entry = entries.get(id);
      if (entry && entry.expiresAt > now()) return entry.state === "done" ? "done" : "busy";
      put(id, { state: "claimed", expiresAt: now() + leaseMs });
      return "claimed";
    },
    async complete(id, ttlMs) {
      put(id, { state: "done", expiresAt: now() + ttlMs });
    },
    async release(id) {
      if (entries.get(id)?.state === "claimed") entries.delete(id);
    },
  };
}

/**
 * The few Redis commands the Redis store sends, as ioredis names them: an ioredis `Redis` (or
 * `Cluster`) fits, such as the connection the queue layer uses.
 */
export interface WebhookRedisClient {
  set(key: string, value: string, px: "PX", milliseconds: number, nx: "NX"): Promise<"OK" | null>;
  set(key: string, value: string, px: "PX", milliseconds: number): Promise<"OK" | null>;
  get(key: string): Promise<string | null>;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Options of `createRedisWebhookDedupe`. */
export interface RedisWebhookDedupeOptions {
  /** The prefix of the keys (one per delivery id). @default "merge:webhook:" */
  prefix?: string;
}

/** Deletes the claim only if it is still this claimant's: an expired lease may be someone else's now. */
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;
const DONE = "done";

/**
 * A store on Redis, shared by every receiver of a fleet: `SET NX PX` claims a delivery atomically, so
 * two processes given the same delivery at once handle it once. Keys expire by themselves (`PX`).
 * @example
 * import { Redis } from "ioredis";
 * const dedupe = createRedisWebhookDedupe(new Redis(process.env.REDIS_URL!));
 */
export function createRedisWebhookDedupe(redis: WebhookRedisClient, options: RedisWebhookDedupeOptions = {}): WebhookDedupeStore {
  const prefix = options.prefix ?? "merge:webhook:";
  // Each claim's token, so that a release deletes only the claim this process made.
  const tokens = new Map<string, string>();
  return {
    async claim(id, leaseMs) {
      const key = prefix + id;
      const token = `claimed:${crypto.randomUUID()}`;
      if ((await redis.set(key, token, "PX", Math.max(1, Math.round(leaseMs)), "NX")) === "OK") {
        tokens.set(id, token);
        return "claimed";
      }
      const held = await redis.get(key);
      if (held === DONE) return "done";
      if (held !== null) return "busy";
      // The other claim expired between the two commands: try once more.
      if ((await redis.set(key, token, "PX", Math.max(1, Math.round(leaseMs)), "NX")) === "OK") {
        tokens.set(id, token);
        return "claimed";
      }
      return "busy";
    },
    async complete(id, ttlMs) {
      tokens.delete(id);
      await redis.set(prefix + id, DONE, "PX", Math.max(1, Math.round(ttlMs)));
    },
    async release(id) {
      const token = tokens.get(id);
      tokens.delete(id);
      if (token !== undefined) await redis.eval(RELEASE, 1, prefix + id, token);
    },
  };
}
