/**
 * `merge-crm-engagements/mirror`: a copy of linked accounts' engagements in the user's database
 * (PGlite embedded by default, or Postgres), kept in step by the incremental sync and by Merge's
 * webhooks, newer wins. A layer over the client's public API, the sync and the webhooks entries: the
 * core never imports it. `@electric-sql/pglite` and `pg` are optional peers, loaded only when a
 * database asks for them (a missing one is named with its install command).
 *
 * @module merge-crm-engagements/mirror
 */
export { openEngagementMirror } from "./mirror.js";
export type { EngagementMirror, EngagementMirrorOptions, MirrorApplyResult, MirrorSyncSummary } from "./mirror.js";
export type { MirrorDatabaseOption } from "./database.js";
export { MergeMirrorConfigError, MergeMirrorError } from "./errors.js";
export { SCHEMA_VERSION } from "./schema.js";
