/** Redis connections from what the caller gave: a URL, ioredis options, or a client of their own. */
import type { Redis, RedisOptions } from "ioredis";
import { ioredis } from "./peers.js";
import type { QueueConnection } from "./types.js";

/** A connection and whether it is ours to close. */
export interface OwnedConnection {
  redis: Redis;
  owned: boolean;
  close(): Promise<void>;
}

/**
 * `workerSide`: BullMQ's workers block on Redis and must retry forever (`maxRetriesPerRequest: null`);
 * a producer's commands fail fast instead, so `enqueue` can say Redis is down within its timeout.
 */
export function openRedis(connection: QueueConnection, workerSide: boolean): OwnedConnection {
  const tuning: RedisOptions = workerSide ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, connectTimeout: 5_000 };
  if (connection instanceof ioredis.Redis) return { redis: connection, owned: false, close: async () => {} };
  const redis = typeof connection === "string" ? new ioredis.Redis(connection, tuning) : new ioredis.Redis({ ...connection, ...tuning });
  // ioredis reconnects by itself; an unhandled "error" event would crash the process.
  redis.on("error", () => {});
  return {
    redis,
    owned: true,
    async close() {
      // QUIT waits for a connection that may never come: only a ready one says goodbye.
      if (redis.status !== "ready") return redis.disconnect();
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
