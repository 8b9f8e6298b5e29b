/**
 * The checkpoint of an incremental read, and the rule that makes it safe.
 *
 * A walk reads every page of `modified_after = after` (pages are in creation order, not by
 * `modified_at`). A record changed while the walk runs, on a page the walk has passed, is not seen
 * again in it; its new `modified_at` is later than the moment the walk read its first page. So the next
 * walk may start from that moment, on Merge's clock, less a margin: never from the largest
 * `modified_at` seen (a change on a passed page can be older than that), and never from this machine's
 * clock (Merge's may lag it). Merge's clock is read two ways, and the later of the two is used:
 * - the `Date` header of the walk's first page (the moment it was answered, to the second);
 * - the largest `modified_at` seen before the walk began (every change seen then had happened by then).
 * The margin covers what those miss: Merge's web and database clocks differing, and a change stamped
 * before it becomes readable.
 *
 * Within a walk the checkpoint holds the walk's filter and the cursor of its next page, so a resumed
 * walk goes on where it was; what changed meanwhile on the pages behind it is after the walk's start,
 * and the next walk reads it.
 */

/** What a checkpoint string holds (version 1). */
export interface CheckpointState {
  v: 1;
  /** The `modified_after` of the next walk; `null`: everything. */
  after: string | null;
  /** The largest `modified_at` seen in the walks before the current one (Merge's clock). */
  high: string | null;
  /** The walk under way, if any. */
  walk: WalkState | null;
}

export interface WalkState {
  /** Its `modified_after` (`null`: everything). */
  after: string | null;
  /** The cursor of the next page to read; `null`: the first page. */
  cursor: string | null;
  /** Merge's clock when its first page was answered (the `Date` header, less 1 s), if known. */
  start: string | null;
  /** The largest `modified_at` seen in it so far. */
  seen: string | null;
}

/** Thrown for a checkpoint string this version cannot read. */
export class CheckpointError extends TypeError {
  override name = "CheckpointError";
}

export function encodeCheckpoint(state: CheckpointState): string {
  return JSON.stringify(state);
}

function isIsoOrNull(value: unknown): value is string | null {
  return value === null || (typeof value === "string" && !Number.isNaN(Date.parse(value)));
}

export function decodeCheckpoint(text: string): CheckpointState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CheckpointError("checkpoint: not a checkpoint of engagementChanges (not JSON)");
  }
  if (typeof value !== "object" || value === null) throw new CheckpointError("checkpoint: not a checkpoint of engagementChanges");
  const { v, after, high, walk } = value as Record<string, unknown>;
  if (v !== 1) throw new CheckpointError(`checkpoint: version ${JSON.stringify(v)} is not one this version reads (1)`);
  if (!isIsoOrNull(after) || !isIsoOrNull(high)) throw new CheckpointError("checkpoint: /after and /high must be ISO date-times or null");
  if (walk === null) return { v: 1, after, high, walk: null };
  if (typeof walk !== "object" || walk === undefined) throw new CheckpointError("checkpoint: /walk must be an object or null");
  const w = walk as Record<string, unknown>;
  if (!isIsoOrNull(w["after"]) || !isIsoOrNull(w["start"]) || !isIsoOrNull(w["seen"]) || !(w["cursor"] === null || typeof w["cursor"] === "string")) {
    throw new CheckpointError("checkpoint: /walk is malformed");
  }
  return { v: 1, after, high, walk: { after: w["after"], cursor: w["cursor"], start: w["start"], seen: w["seen"] } };
}

/** The later of two instants (ISO strings, or null for none). */
export function later(a: string | null, b: string | null | undefined): string | null {
  if (b === null || b === undefined) return a;
  if (a === null) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * The `modified_after` of the walk after one that began with `walk` and ended: Merge's clock at its
 * start (the later of `start` and `high`), less the margin, and never earlier than the filter it had.
 */
export function nextAfter(previousAfter: string | null, high: string | null, start: string | null, marginMs: number): string | null {
  const clock = later(high, start);
  if (clock === null) return previousAfter;
  const candidate = new Date(Date.parse(clock) - marginMs).toISOString();
  return later(previousAfter, candidate);
}
