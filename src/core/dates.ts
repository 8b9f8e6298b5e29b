/**
 * Dates in, ISO 8601 strings out: query parameters and request bodies accept a `Date` wherever the spec
 * has a date-time string, and it goes on the wire as `toISOString()` (UTC). Responses stay strings.
 */
import { MergeValidationError } from "./errors.js";
import type { EngagementRequest } from "./types.js";

/** The date-time filters of `GET /crm/v1/engagements`. */
export const QUERY_DATE_KEYS = ["created_after", "created_before", "modified_after", "modified_before", "started_after", "started_before"] as const;
export type QueryDateKey = (typeof QUERY_DATE_KEYS)[number];

/** `Q` with the keys `K` (by default the date-time query filters) also accepting a `Date`. */
export type WithDates<Q, K extends PropertyKey = QueryDateKey> = { [P in keyof Q]: P extends K ? Q[P] | Date : Q[P] };

/** The date-time fields of create and update bodies (a unit test holds this to the spec). */
export const BODY_DATE_KEYS = ["start_time", "end_time"] as const;
export type BodyDateKey = (typeof BODY_DATE_KEYS)[number];

/** The ISO string of a date; an invalid `Date` is refused, named by its pointer. */
export function isoDate(value: string | Date, pointer: string): string {
  if (typeof value === "string") return value;
  if (Number.isNaN(value.getTime())) throw new MergeValidationError([{ pointer, message: "is an invalid Date" }]);
  return value.toISOString();
}

/** The fields of a create or update, with `start_time` and `end_time` also accepting a `Date`. */
export type EngagementInput = WithDates<EngagementRequest, BodyDateKey>;

/** A body's `model` as sent: `start_time` and `end_time` given as `Date` become ISO strings. */
export function modelToWire(model: EngagementInput): EngagementRequest {
  // Anything but an object is left for validation to refuse, with its pointer.
  if (typeof model !== "object" || model === null) return model;
  const { start_time, end_time, ...rest } = model;
  const out: EngagementRequest = rest;
  if (start_time !== undefined) out.start_time = start_time instanceof Date ? isoDate(start_time, "/model/start_time") : start_time;
  if (end_time !== undefined) out.end_time = end_time instanceof Date ? isoDate(end_time, "/model/end_time") : end_time;
  return out;
}
