/**
 * The Users resource: `merge.users.*`, CRM users (the reps who own records), filtered by email or the CRM's id.
 */
import type { ListUsersQuery, RetrieveUserQuery } from "../query.js";
import { sharedDatesToWire } from "../query.js";
import type { User, PaginatedUserList } from "../types.js";
import { callHeaders, itemsOf, pathId, read, walkList, type AccountTokenMode, type OptionsArg, type RequestOptions, type ResourceContext } from "./shared.js";

/** `merge.users`. */
export interface UsersResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Fetches one page: `GET /crm/v1/users`.
   * @example
   * const { results } = await merge.users.list({ email: "rep@example.com" });
   */
  list(query?: ListUsersQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<PaginatedUserList>;
  /**
   * Every page, one request each, following `next` until it is `null`. Stopping the loop stops fetching.
   * @example
   * for await (const page of merge.users.pages({ page_size: 100 })) console.log(page.results?.length);
   */
  pages(query?: ListUsersQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<PaginatedUserList, void, undefined>;
  /**
   * Every user across every page, fetched one page at a time.
   * @example
   * for await (const item of merge.users.listAll()) console.log(item.id, item.name);
   */
  listAll(query?: ListUsersQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<User, void, undefined>;
  /**
   * Fetches one user by Merge's id: `GET /crm/v1/users/{id}`.
   * @example
   * const item = await merge.users.retrieve(id);
   */
  retrieve(id: string, query?: RetrieveUserQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<User>;
}

export function createUsers(context: ResourceContext): UsersResource<AccountTokenMode> {
  const { raw, transport } = context;
  const resource: UsersResource<AccountTokenMode> = {
    async list(query: ListUsersQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const wire = sharedDatesToWire(query);
      return read(transport, "usersList", options, { header, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/users", { params: { header, query: wire }, fetch, signal }),
      );
    },
    pages: (query: ListUsersQuery = {}, options: RequestOptions = {}) => walkList(query, (page) => resource.list(page, options)),
    listAll: (query: ListUsersQuery = {}, options: RequestOptions = {}) => itemsOf(resource.pages(query, options)),
    async retrieve(id: string, query: RetrieveUserQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const path = { id: pathId(id, "Merge's id of the user") };
      const wire = query;
      return read(transport, "usersRetrieve", options, { header, path, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/users/{id}", { params: { header, path, query: wire }, fetch, signal }),
      );
    },
  };
  return resource;
}
