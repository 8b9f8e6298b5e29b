/**
 * Query parameters: the spec's types, with dates accepted as `Date` too, turned into what goes on the
 * wire. `expand` is serialized as ONE comma-joined value by the client's querySerializer
 * (`style: form, explode: false` in the spec).
 */
import type { operations } from "../../generated/schema.js";
import { isoDate, QUERY_DATE_KEYS, type WithDates } from "./dates.js";

type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

/** Query of `GET /crm/v1/engagements`. */
export type ListEngagementsQuery = WithDates<QueryOf<"engagementsList">>;
/** Query of `GET /crm/v1/engagements/{id}`. */
export type RetrieveEngagementQuery = QueryOf<"engagementsRetrieve">;
/** Query of `GET /crm/v1/engagements/remote-field-classes`. */
export type RemoteFieldClassesQuery = QueryOf<"engagementsRemoteFieldClassesList">;

/** The relations `expand` accepts. */
export type EngagementExpand = NonNullable<RetrieveEngagementQuery["expand"]>[number];

/** The wire form of a list query: dates as ISO strings, an empty `expand` left out. */
export function listQueryToWire(query: ListEngagementsQuery): QueryOf<"engagementsList"> {
  const { created_after, created_before, modified_after, modified_before, started_after, started_before, ...rest } = query;
  const out: QueryOf<"engagementsList"> = withoutEmptyExpand(rest);
  const dates = { created_after, created_before, modified_after, modified_before, started_after, started_before };
  for (const key of QUERY_DATE_KEYS) {
    const value = dates[key];
    if (value !== undefined) out[key] = isoDate(value, `/query/${key}`);
  }
  return out;
}

/** Leaves out `expand: []`, which would otherwise go out as an empty `expand=`. */
export function withoutEmptyExpand<Q extends { expand?: readonly string[] }>(query: Q): Q {
  if (query.expand === undefined || query.expand.length > 0) return query;
  const copy = { ...query };
  delete copy.expand;
  return copy;
}
