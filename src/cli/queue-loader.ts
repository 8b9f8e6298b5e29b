/**
 * What the queue's commands share: loading the queue library (BullMQ and ioredis are optional peers,
 * loaded only by these commands), the exit code of its errors, and never hanging on a Redis that went
 * away.
 */
import { isMergeValidationError } from "../index.js";
import type { EngagementQueue } from "../queue/index.js";
import { redisForDisplay, UsageError, type QueueLocation } from "./args.js";
import { ROWS_NOT_WRITTEN } from "./exit.js";
import { CommandFailure } from "./runner.js";
import { messageOf } from "../internal/errors.js";

export type QueueLibrary = typeof import("../queue/index.js");

/** How long closing a queue may take before the command exits anyway (its Redis may be gone). */
export const CLOSE_TIMEOUT_MS = 3000;

/** The queue library; a `UsageError` when bullmq or ioredis is not installed. */
export async function loadQueueLibrary(): Promise<QueueLibrary> {
  try {
    return await import("../queue/index.js");
  } catch (error) {
    // peers.ts names the missing peer and the command that installs it.
    const message = messageOf(error);
    if (message.includes("npm install bullmq")) throw new UsageError(message);
    throw error;
  }
}

/**
 * What to throw for an error from the queue library: Redis unreachable is exit 1 (the command can run
 * again as it is, once Redis answers); a configuration the library refuses (a missing
 * MERGE_QUEUE_SECRET, an option out of range) is a usage error. Anything else is a bug, thrown as it is
 * for main's handler.
 */
export function queueFailure(error: unknown, library: QueueLibrary, location: QueueLocation): unknown {
  const message = withoutRedisPassword(messageOf(error), location.redis);
  if (error instanceof library.MergeQueueUnavailableError) {
    const partly = error.mayHaveBeenEnqueued ? " Some rows may be in the queue already: run the same command again once Redis answers (nothing is added twice)." : "";
    return redisUnreachable(location, `${message.replace(/\.$/, "")}.${partly}`);
  }
  if (error instanceof library.MergeQueueConfigError || isMergeValidationError(error)) return new UsageError(message);
  return error;
}

/** Redis did not answer: exit 1, the command is right as it is. */
export function redisUnreachable(location: QueueLocation, why: string): CommandFailure {
  return new CommandFailure(`Redis at ${redisForDisplay(location.redis)} is unreachable: ${why}`, ROWS_NOT_WRITTEN);
}

/** A message without the Redis URL's password, should a library have quoted the URL. */
export function withoutRedisPassword(message: string, redis: string): string {
  let password = "";
  try {
    password = decodeURIComponent(new URL(redis).password);
  } catch {
    // Not a URL: args.ts refuses those.
  }
  const out = message.split(redis).join(redisForDisplay(redis));
  return password === "" ? out : out.split(password).join("***");
}

export async function closeQueue(queue: EngagementQueue): Promise<void> {
  // A queue whose Redis is gone may not close promptly: the command's answer is already printed.
  await withTimeout(queue.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
}

export class TimedOut extends Error {
  override name = "TimedOut";
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Exits once the answer is out even if a connection lingers (ioredis reconnecting to a Redis that went
 * away): the timer is unref'd, so a process with nothing left to do exits at once without it.
 */
export function exitSoon(ms = CLOSE_TIMEOUT_MS): void {
  setTimeout(() => process.exit(), ms).unref();
}
