/**
 * `merge-crm-engagements/webhooks`: receiving Merge's webhooks. Verify each delivery over its raw bytes,
 * get it back typed from the spec, and handle each event once. Web-standard only (WebCrypto, `Request`,
 * `Response`): it runs on Node, Bun, Deno, Cloudflare Workers and any Fetch-API server; the Node
 * adapter (`createMergeWebhookNodeHandler`) serves `http` and Express.
 *
 * @module merge-crm-engagements/webhooks
 */
export { signMergeWebhook, verifyMergeWebhook } from "./signature.js";
export type { WebhookBody } from "./signature.js";
export { unwrapMergeWebhook } from "./unwrap.js";
export { isMergeWebhookEvent } from "./events.js";
export type { MergeWebhookEvent, MergeWebhookEventName, MergeWebhookEvents } from "./events.js";
export { isMergeWebhookVerificationError, MergeWebhookVerificationError } from "./errors.js";
export type { MergeWebhookVerificationReason } from "./errors.js";
export { createMergeWebhookHandler, MERGE_WEBHOOK_SIGNATURE_HEADER } from "./handler.js";
export type { MergeWebhookContext, MergeWebhookErrorContext, MergeWebhookHandlerOptions } from "./handler.js";
export { createMergeWebhookNodeHandler, MergeWebhookRawBodyError } from "./node.js";
export type { NodeWebhookRequest, NodeWebhookResponse } from "./node.js";
export { createMemoryWebhookDedupe, createRedisWebhookDedupe } from "./dedupe.js";
export type {
  MemoryWebhookDedupeOptions,
  RedisWebhookDedupeOptions,
  WebhookClaim,
  WebhookDedupeStore,
  WebhookRedisClient,
} from "./dedupe.js";
export type {
  EngagementAddedEvent,
  EngagementChangedEvent,
  EngagementRemovedEvent,
  LinkedAccountFullySyncedInitialEvent,
  LinkedAccountSyncedEvent,
  SyncStatus,
  WebhookEvent,
  WebhookHook,
  WebhookLinkedAccount,
} from "../index.js";
