/**
 * `merge-crm-engagements/sync`: keep a copy of a linked account's engagements in step with Merge,
 * by incremental reads (`modified_after`, deletions included), from a checkpoint that is always safe to
 * resume from. Web APIs only: it runs wherever the client runs.
 *
 * @module merge-crm-engagements/sync
 */
export { engagementChanges } from "./changes.js";
export type { EngagementChange, EngagementChangeBatch, EngagementChangesOptions } from "./changes.js";
export { CheckpointError } from "./checkpoint.js";
