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

/** The date-time filters every list of contacts, users, accounts and engagement types shares. */
type SharedDateKey = "created_after" | "created_before" | "modified_after" | "modified_before";
type SharedDates = { [K in SharedDateKey]?: string | Date | undefined };

/** A list query with its shared date filters as ISO strings (only those given), its other parameters as they are. */
export function sharedDatesToWire<Q extends SharedDates>(query: Q): Omit<Q, SharedDateKey> & { [K in SharedDateKey]?: string } {
  const { created_after, created_before, modified_after, modified_before, ...rest } = query;
  const given: SharedDates = { created_after, created_before, modified_after, modified_before };
  const dates: { [K in SharedDateKey]?: string } = {};
  for (const key of ["created_after", "created_before", "modified_after", "modified_before"] as const) {
    const value = given[key];
    if (value !== undefined) dates[key] = isoDate(value, `/query/${key}`);
  }
  return { ...rest, ...dates };
}

/** Several values of a comma-separated filter, as a list or as the one string Merge takes. */
type CommaList = string | readonly string[];

/** Query of `GET /crm/v1/contacts`. `email_addresses` and `phone_numbers` take a list (joined with commas) or a string. */
export type ListContactsQuery = Omit<WithDates<QueryOf<"contactsList">, SharedDateKey>, "email_addresses" | "phone_numbers"> & {
  email_addresses?: CommaList;
  phone_numbers?: CommaList;
};
/** Query of `GET /crm/v1/contacts/{id}`. */
export type RetrieveContactQuery = QueryOf<"contactsRetrieve">;
/** Query of `GET /crm/v1/users`. */
export type ListUsersQuery = WithDates<QueryOf<"usersList">, SharedDateKey>;
/** Query of `GET /crm/v1/users/{id}`. */
export type RetrieveUserQuery = QueryOf<"usersRetrieve">;
/** Query of `GET /crm/v1/accounts`. */
export type ListAccountsQuery = WithDates<QueryOf<"accountsList">, SharedDateKey>;
/** Query of `GET /crm/v1/accounts/{id}`. */
export type RetrieveAccountQuery = QueryOf<"accountsRetrieve">;
/** Query of `GET /crm/v1/engagement-types`. */
export type ListEngagementTypesQuery = WithDates<QueryOf<"engagementTypesList">, SharedDateKey>;
/** Query of `GET /crm/v1/engagement-types/{id}`. */
export type RetrieveEngagementTypeQuery = QueryOf<"engagementTypesRetrieve">;

/** A comma-separated filter as sent: one string. */
export function commaJoined(value: CommaList | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.join(",");
}
