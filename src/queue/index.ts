/**
 * `merge-crm-engagements/queue`: writes from a fleet. Producers anywhere enqueue rows into a
 * BullMQ queue on Redis; workers on any number of machines deliver each exactly once, with the delivery
 * of a row `bulkCreate` uses, paced per linked account over the whole fleet and under Merge's global
 * failure limit, their shared state in Redis. A layer above the client like `/bulk`: it uses the core
 * only through its public exports, and the core never imports it.
 *
 * Needs the optional peers `bullmq` 6 and `ioredis` 5: `npm install bullmq@6 ioredis@5`.
 *
 * @module merge-crm-engagements/queue
 */
export { createEngagementQueue } from "./producer.js";
export { startEngagementWorker, type DeliveredValue } from "./worker.js";
export { MergeQueueConfigError, MergeQueueError, MergeQueueUnavailableError } from "./errors.js";
export { DEFAULT_QUEUE } from "./jobs.js";
export type {
  EngagementQueue,
  EngagementQueueOptions,
  EngagementWorker,
  EngagementWorkerOptions,
  EngagementWorkerStats,
  EnqueueManyResult,
  EnqueueResult,
  FailedJob,
  QueueConnection,
  QueueCounts,
  QueueDeliveryResult,
  QueueRow,
  SuspendedQueueAccount,
} from "./types.js";
