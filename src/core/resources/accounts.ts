/**
 * The Accounts resource: `merge.accounts.*`, CRM accounts (companies), filtered by name, owner or the CRM's id.
 */
import type { ListAccountsQuery, RetrieveAccountQuery } from "../query.js";
import { sharedDatesToWire, withoutEmptyExpand } from "../query.js";
import type { Account, PaginatedAccountList } from "../types.js";
import { callHeaders, itemsOf, pathId, read, walkList, type AccountTokenMode, type OptionsArg, type RequestOptions, type ResourceContext } from "./shared.js";

/** `merge.accounts`. */
export interface AccountsResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Fetches one page: `GET /crm/v1/accounts`.
   * @example
   * const { results } = await merge.accounts.list({ name: "Acme Inc" });
   */
  list(query?: ListAccountsQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<PaginatedAccountList>;
  /**
   * Every page, one request each, following `next` until it is `null`. Stopping the loop stops fetching.
   * @example
   * for await (const page of merge.accounts.pages({ page_size: 100 })) console.log(page.results?.length);
   */
  pages(query?: ListAccountsQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<PaginatedAccountList, void, undefined>;
  /**
   * Every account across every page, fetched one page at a time.
   * @example
   * for await (const item of merge.accounts.listAll()) console.log(item.id, item.name);
   */
  listAll(query?: ListAccountsQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<Account, void, undefined>;
  /**
   * Fetches one account by Merge's id: `GET /crm/v1/accounts/{id}`.
   * @example
   * const item = await merge.accounts.retrieve(id);
   */
  retrieve(id: string, query?: RetrieveAccountQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<Account>;
}

export function createAccounts(context: ResourceContext): AccountsResource<AccountTokenMode> {
  const { raw, transport } = context;
  const resource: AccountsResource<AccountTokenMode> = {
    async list(query: ListAccountsQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const wire = withoutEmptyExpand(sharedDatesToWire(query));
      return read(transport, "accountsList", options, { header, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/accounts", { params: { header, query: wire }, fetch, signal }),
      );
    },
    pages: (query: ListAccountsQuery = {}, options: RequestOptions = {}) => walkList(query, (page) => resource.list(page, options)),
    listAll: (query: ListAccountsQuery = {}, options: RequestOptions = {}) => itemsOf(resource.pages(query, options)),
    async retrieve(id: string, query: RetrieveAccountQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const path = { id: pathId(id, "Merge's id of the account") };
      const wire = withoutEmptyExpand(query);
      return read(transport, "accountsRetrieve", options, { header, path, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/accounts/{id}", { params: { header, path, query: wire }, fetch, signal }),
      );
    },
  };
  return resource;
}
