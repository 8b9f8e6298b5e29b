/**
 * The Engagement Types resource: `merge.engagementTypes.*`, the kinds of engagement a CRM knows (a call, a meeting, an email); Merge has no filter but the CRM's id, so list them and match.
 */
import type { ListEngagementTypesQuery, RetrieveEngagementTypeQuery } from "../query.js";
import { sharedDatesToWire } from "../query.js";
import type { EngagementType, PaginatedEngagementTypeList } from "../types.js";
import { callHeaders, itemsOf, pathId, read, walkList, type AccountTokenMode, type OptionsArg, type RequestOptions, type ResourceContext } from "./shared.js";

/** `merge.engagementTypes`. */
export interface EngagementTypesResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Fetches one page: `GET /crm/v1/engagement-types`.
   * @example
   * const { results } = await merge.engagementTypes.list();
   */
  list(query?: ListEngagementTypesQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<PaginatedEngagementTypeList>;
  /**
   * Every page, one request each, following `next` until it is `null`. Stopping the loop stops fetching.
   * @example
   * for await (const page of merge.engagementTypes.pages({ page_size: 100 })) console.log(page.results?.length);
   */
  pages(query?: ListEngagementTypesQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<PaginatedEngagementTypeList, void, undefined>;
  /**
   * Every engagement type across every page, fetched one page at a time.
   * @example
   * for await (const item of merge.engagementTypes.listAll()) console.log(item.id, item.name);
   */
  listAll(query?: ListEngagementTypesQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<EngagementType, void, undefined>;
  /**
   * Fetches one engagement type by Merge's id: `GET /crm/v1/engagement-types/{id}`.
   * @example
   * const item = await merge.engagementTypes.retrieve(id);
   */
  retrieve(id: string, query?: RetrieveEngagementTypeQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<EngagementType>;
}

export function createEngagementTypes(context: ResourceContext): EngagementTypesResource<AccountTokenMode> {
  const { raw, transport } = context;
  const resource: EngagementTypesResource<AccountTokenMode> = {
    async list(query: ListEngagementTypesQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const wire = sharedDatesToWire(query);
      return read(transport, "engagementTypesList", options, { header, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/engagement-types", { params: { header, query: wire }, fetch, signal }),
      );
    },
    pages: (query: ListEngagementTypesQuery = {}, options: RequestOptions = {}) => walkList(query, (page) => resource.list(page, options)),
    listAll: (query: ListEngagementTypesQuery = {}, options: RequestOptions = {}) => itemsOf(resource.pages(query, options)),
    async retrieve(id: string, query: RetrieveEngagementTypeQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const path = { id: pathId(id, "Merge's id of the engagement type") };
      const wire = query;
      return read(transport, "engagementTypesRetrieve", options, { header, path, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/engagement-types/{id}", { params: { header, path, query: wire }, fetch, signal }),
      );
    },
  };
  return resource;
}
