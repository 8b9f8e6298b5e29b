/** `engagementChanges`: the changes of one linked account's engagements, page by page, from a checkpoint. */
import { isMergeApiError, type Engagement, type ListEngagementsQuery, type MergeCrmClient, type PaginatedEngagementList, type RequestOptions } from "../index.js";
import { decodeCheckpoint, encodeCheckpoint, later, nextAfter, type CheckpointState } from "./checkpoint.js";

/** One change to apply to a copy of the account's engagements; applying one twice is harmless. */
export type EngagementChange =
  /** The engagement as Merge has it now: insert it, or replace the copy's. */
  | { op: "upsert"; engagement: Engagement }
  /** The engagement was deleted in the CRM (`remote_was_deleted`): remove it from the copy. */
  | { op: "delete"; id: string; modified_at: string | undefined };

/** One page's worth of changes, and the checkpoint to persist once they are applied. */
export interface EngagementChangeBatch {
  /** The page's changes, in the page's order. */
  changes: EngagementChange[];
  /**
   * Persist this after applying `changes` (in the same transaction, or after they are durable):
   * resuming from it never misses a change, wherever a crash happens. An opaque string.
   */
  checkpoint: string;
  /** How many records the page held (records without an `id` are skipped, but counted here). */
  records: number;
  /**
   * `true` on the last batch: the copy is up to date with what changed before this call began. (A walk
   * resumed from a mid-walk checkpoint is followed by one more, which reads what changed behind it.)
   */
  caughtUp: boolean;
}

/** Options of `engagementChanges`. */
export interface EngagementChangesOptions {
  /** Where to resume: the `checkpoint` of a batch from an earlier call. None: every engagement (or from `since`). */
  checkpoint?: string | null | undefined;
  /** Without a checkpoint, read only engagements modified after this instant (Merge's clock). */
  since?: Date | string | undefined;
  /** The linked account's token (needed when the client has none). */
  accountToken?: string | undefined;
  /** Engagements per page, at most 100. @default 100 */
  pageSize?: number | undefined;
  /**
   * How far before Merge's clock at a walk's start the next walk begins, in milliseconds: room for
   * Merge's clocks to differ and for a change to become readable after it was stamped. Changes inside
   * the margin are read again by the next walk (harmless). @default 300000 (5 minutes)
   */
  marginMs?: number | undefined;
  /** Stops the walk; the iterator then rejects with the standard `AbortError`. */
  signal?: AbortSignal | undefined;
}

const DEFAULT_MARGIN_MS = 5 * 60 * 1000;

function checkOptions(options: EngagementChangesOptions): { pageSize: number; marginMs: number; since: string | null } {
  const pageSize = options.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new TypeError("engagementChanges: pageSize must be an integer from 1 to 100");
  const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
  if (!Number.isFinite(marginMs) || marginMs < 0) throw new TypeError("engagementChanges: marginMs must be a number of milliseconds, 0 or more");
  let since: string | null = null;
  if (options.since !== undefined) {
    const at = options.since instanceof Date ? options.since.getTime() : Date.parse(options.since);
    if (Number.isNaN(at)) throw new TypeError("engagementChanges: since must be a Date or an ISO date-time");
    since = new Date(at).toISOString();
  }
  return { pageSize, marginMs, since };
}

/** Merge's clock from an answer's `Date` header, less the second it is rounded to; `null` if absent. */
function clockOf(headers: Headers): string | null {
  const date = headers.get("date");
  const at = date === null ? Number.NaN : Date.parse(date);
  return Number.isNaN(at) ? null : new Date(at - 1_000).toISOString();
}

/**
 * The changes of one linked account's engagements since a checkpoint, one batch per page read, with
 * the checkpoint to persist after each. The walk reads `modified_after` the checkpoint's instant with
 * `include_deleted_data=true`, so deletions arrive as `{ op: "delete" }`; it ends (its last batch has
 * `caughtUp: true`) when it has read the last page. Call it again later (on a schedule, or when the
 * `LinkedAccount.synced` webhook arrives) with the last checkpoint to read what changed since.
 *
 * Reads are retried on 429 and 5xx as the client retries them. One page is held at a time, so memory
 * stays flat whatever the account's size. A change may be delivered twice (inside the margin, or after
 * a resume); never missed.
 * @example
 * let checkpoint = await db.loadCheckpoint(account);
 * for await (const batch of engagementChanges(merge, { checkpoint, accountToken })) {
 *   await db.transaction(async (tx) => {
 *     for (const change of batch.changes) {
 *       if (change.op === "upsert") await tx.upsert(change.engagement);
 *       else await tx.remove(change.id);
 *     }
 *     await tx.saveCheckpoint(account, batch.checkpoint);
 *   });
 * }
 */
export function engagementChanges(client: MergeCrmClient<"client">, options?: EngagementChangesOptions): AsyncGenerator<EngagementChangeBatch, void, undefined>;
/** A client without an account token of its own needs `accountToken`. */
export function engagementChanges(
  client: MergeCrmClient<"per-call">,
  options: EngagementChangesOptions & { accountToken: string },
): AsyncGenerator<EngagementChangeBatch, void, undefined>;
export async function* engagementChanges(
  client: MergeCrmClient<"client"> | MergeCrmClient<"per-call">,
  options: EngagementChangesOptions = {},
): AsyncGenerator<EngagementChangeBatch, void, undefined> {
  const { pageSize, marginMs, since } = checkOptions(options);
  const { accountToken } = options;
  // The overloads above make a client without its own token come with `accountToken`.
  const list = (query: ListEngagementsQuery, request: RequestOptions): Promise<PaginatedEngagementList> =>
    accountToken === undefined ? (client as MergeCrmClient<"client">).engagements.list(query, request) : client.engagements.list(query, { ...request, accountToken });
  const state: CheckpointState = options.checkpoint ? decodeCheckpoint(options.checkpoint) : { v: 1, after: since, high: null, walk: null };
  // A walk resumed from a checkpoint began before this call: up to date as of its start, not of this
  // call's. Another walk follows it, so `caughtUp` always means "as of when this call began".
  let resumedWalk = state.walk !== null;
  const walk = state.walk ?? { after: state.after, cursor: null, start: null, seen: null };
  state.walk = walk;
  let resumedCursor = walk.cursor !== null;

  for (;;) {
    const query: ListEngagementsQuery = { page_size: pageSize, include_deleted_data: true };
    if (walk.after !== null) query.modified_after = walk.after;
    if (walk.cursor !== null) query.cursor = walk.cursor;
    let clock: string | null = null;
    const request: RequestOptions = { onResponse: ({ headers }) => (clock = clockOf(headers)) };
    if (options.signal !== undefined) request.signal = options.signal;
    let page: PaginatedEngagementList;
    try {
      page = await list(query, request);
    } catch (error) {
      // A cursor kept in a checkpoint may have expired: the walk starts again from its first page. Its
      // start stays the earlier one, so nothing it was to catch is missed.
      if (resumedCursor && isMergeApiError(error) && (error.status === 400 || error.status === 404)) {
        resumedCursor = false;
        walk.cursor = null;
        continue;
      }
      throw error;
    }
    resumedCursor = false;
    // The first answer of the walk dates it; a walk started again keeps its earlier date.
    if (walk.cursor === null && walk.start === null) walk.start = clock;

    const changes: EngagementChange[] = [];
    for (const engagement of page.results) {
      if (typeof engagement.id !== "string") continue;
      walk.seen = later(walk.seen, engagement.modified_at);
      changes.push(engagement.remote_was_deleted === true ? { op: "delete", id: engagement.id, modified_at: engagement.modified_at } : { op: "upsert", engagement });
    }
    const next = page.next ?? null;
    if (next === null || next === "") {
      // The walk is over: the next one starts from Merge's clock at this one's start, less the margin.
      const done: CheckpointState = { v: 1, after: nextAfter(walk.after, state.high, walk.start, marginMs), high: later(state.high, walk.seen), walk: null };
      if (!resumedWalk) {
        yield { changes, checkpoint: encodeCheckpoint(done), records: page.results.length, caughtUp: true };
        return;
      }
      yield { changes, checkpoint: encodeCheckpoint(done), records: page.results.length, caughtUp: false };
      resumedWalk = false;
      state.after = done.after;
      state.high = done.high;
      Object.assign(walk, { after: done.after, cursor: null, start: null, seen: null });
      continue;
    }
    walk.cursor = next;
    yield { changes, checkpoint: encodeCheckpoint(state), records: page.results.length, caughtUp: false };
  }
}
