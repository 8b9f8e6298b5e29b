/**
 * bullmq and ioredis are optional peer dependencies of `merge-crm-engagements/queue`: loaded with
 * `require` when the entry is imported, so a missing one fails the import with the command that
 * installs it instead of a bare "Cannot find module".
 */
import { createRequire } from "node:module";
import type * as BullMQ from "bullmq";
import type * as IORedis from "ioredis";

const INSTALL = "npm install bullmq@6 ioredis@5";

function load<T>(name: string): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (cause) {
    throw new Error(`merge-crm-engagements/queue needs ${name}, an optional peer dependency (with bullmq 6 and ioredis 5): ${INSTALL}`, { cause });
  }
}

export const bullmq: typeof BullMQ = load<typeof BullMQ>("bullmq");
export const ioredis: typeof IORedis = load<typeof IORedis>("ioredis");
