/**
 * The queue's done-store: each (linked account, key)'s latest outcome in Redis, the same
 * records the journal keeps in a file, so a row delivered before is not delivered again, by any worker,
 * and a row that may have been written more than 23 h ago is not resent. One key a row, expiring after
 * `keepMs`.
 */
import type { Redis } from "ioredis";
import type { BulkRowResult } from "../delivery/types.js";
import type { DoneStore } from "../delivery/deliver-row.js";
import { keyDigest } from "./jobs.js";

/** Redis's key of a row's record. */
export function doneKey(queue: string, account: string, key: string): string {
  return `mce:${queue}:done:${account}:${keyDigest(key)}`;
}

export function redisDoneStore(redis: Redis, queue: string, keepMs: number): DoneStore {
  return {
    async outcomeOf(account, key) {
      const text = await redis.get(doneKey(queue, account, key));
      return readRecord(text);
    },
    async record(result) {
      await redis.set(doneKey(queue, result.account, result.key), JSON.stringify(result), "PX", keepMs);
    },
  };
}

/** A record as the done-store wrote it (`undefined` for none, or for what it did not write). */
export function readRecord(text: string | null | undefined): BulkRowResult | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const outcome = Reflect.get(value, "outcome");
    if (outcome !== "created" && outcome !== "rejected" && outcome !== "failed" && outcome !== "held") return undefined;
    // Written by this module from a BulkRowResult: its fields as they were.
    return value as BulkRowResult;
  } catch {
    return undefined;
  }
}
