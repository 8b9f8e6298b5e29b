/**
 * The Contacts resource: `merge.contacts.*`. Lists (filtered by email address, phone number, account
 * or the CRM's id), one contact by Merge's id, and the create a missing contact needs.
 */
import type { ListContactsQuery, RetrieveContactQuery } from "../query.js";
import { commaJoined, sharedDatesToWire, withoutEmptyExpand } from "../query.js";
import type { FetchResult } from "../request.js";
import type { Contact, ContactRequest, ContactResponse, MetaResponse, PaginatedContactList } from "../types.js";
import {
  callHeaders,
  createParts,
  itemsOf,
  pathId,
  read,
  runCreate,
  walkList,
  type AccountTokenMode,
  type CreateOptions,
  type OptionsArg,
  type RequestOptions,
  type ResourceContext,
} from "./shared.js";

/** `merge.contacts`. */
export interface ContactsResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Fetches one page: `GET /crm/v1/contacts`. `email_addresses` takes several addresses (a list, sent
   * comma-joined). Merge does not say whether the match ignores case: compare the results yourself.
   * @example
   * const { results } = await merge.contacts.list({ email_addresses: ["ada@example.com", "grace@example.com"] });
   */
  list(query?: ListContactsQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<PaginatedContactList>;
  /**
   * Every page, one request each, following `next` until it is `null`. Stopping the loop stops fetching.
   * @example
   * for await (const page of merge.contacts.pages({ page_size: 100 })) console.log(page.results?.length);
   */
  pages(query?: ListContactsQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<PaginatedContactList, void, undefined>;
  /**
   * Every contact across every page, fetched one page at a time.
   * @example
   * for await (const contact of merge.contacts.listAll({ account_id })) console.log(contact.first_name);
   */
  listAll(query?: ListContactsQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<Contact, void, undefined>;
  /**
   * Fetches one contact by Merge's id: `GET /crm/v1/contacts/{id}`.
   * @example
   * const contact = await merge.contacts.retrieve(id, { expand: ["account"] });
   */
  retrieve(id: string, query?: RetrieveContactQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<Contact>;
  /**
   * Creates a contact: `POST /crm/v1/contacts`, with an `Idempotency-Key` (a new UUID unless given) so
   * that retries never create it twice. Resolves with `{ model, warnings, errors, logs }` on 201.
   * @example
   * const { model } = await merge.contacts.create({ first_name: "Ada", last_name: "Lovelace", email_addresses: [{ email_address: "ada@example.com" }] });
   */
  create(model: ContactRequest, ...options: OptionsArg<Mode, CreateOptions>): Promise<ContactResponse>;
  /**
   * What a contact create accepts for this linked account: `GET /crm/v1/contacts/meta/post` (Pipedrive
   * requires `first_name`, Salesforce `last_name`).
   * @example
   * const { request_schema } = await merge.contacts.metaForCreate();
   */
  metaForCreate(...options: OptionsArg<Mode, RequestOptions>): Promise<MetaResponse>;
}

export function createContacts(context: ResourceContext): ContactsResource<AccountTokenMode> {
  const { raw, transport } = context;
  const resource: ContactsResource<AccountTokenMode> = {
    async list(query: ListContactsQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const { email_addresses, phone_numbers, ...rest } = query;
      const wire = withoutEmptyExpand(sharedDatesToWire(rest));
      const emails = commaJoined(email_addresses);
      const phones = commaJoined(phone_numbers);
      const sent = { ...wire, ...(emails === undefined ? {} : { email_addresses: emails }), ...(phones === undefined ? {} : { phone_numbers: phones }) };
      return read(transport, "contactsList", options, { header, query: sent }, (fetch, signal) =>
        raw.GET("/crm/v1/contacts", { params: { header, query: sent }, fetch, signal }),
      );
    },
    pages: (query: ListContactsQuery = {}, options: RequestOptions = {}) => walkList(query, (page) => resource.list(page, options)),
    listAll: (query: ListContactsQuery = {}, options: RequestOptions = {}) => itemsOf(resource.pages(query, options)),
    async retrieve(id: string, query: RetrieveContactQuery = {}, options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      const path = { id: pathId(id, "Merge's id of the contact") };
      const wire = withoutEmptyExpand(query);
      return read(transport, "contactsRetrieve", options, { header, path, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/contacts/{id}", { params: { header, path, query: wire }, fetch, signal }),
      );
    },
    async create(model: ContactRequest, options: CreateOptions = {}) {
      const { idempotencyKey, header, query } = createParts(context, options);
      const body = { model };
      return runCreate(transport, {
        operation: "contactsCreate",
        idempotencyKey,
        parts: { header, query, body },
        overrides: options,
        send: (fetch, signal): Promise<FetchResult<ContactResponse>> => raw.POST("/crm/v1/contacts", { params: { header, query }, body, fetch, signal }),
      });
    },
    async metaForCreate(options: RequestOptions = {}) {
      const header = callHeaders(context, options);
      return read(transport, "contactsMetaPostRetrieve", options, { header }, (fetch, signal) =>
        raw.GET("/crm/v1/contacts/meta/post", { params: { header }, fetch, signal }),
      );
    },
  };
  return resource;
}
