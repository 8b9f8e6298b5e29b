/**
 * The Engagements resource: `merge.engagements.*`, one method per operation of the spec, plus the
 * iterators that walk cursor pages.
 */
import type { AccountDescription } from "../validation/form-fields.js";
import { untilAborted } from "../abort.js";
import { accountProblems } from "../validation/account-problems.js";
import type { AccountChecks, AccountValidationMode } from "../validation/account-validation.js";
import { modelToWire, type BodyDateKey, type EngagementInput, type WithDates } from "../dates.js";
import { MergeConnectionError, MergeReferenceError, MergeResponseValidationError, MergeValidationError, type ValidationIssue } from "../errors.js";
import {
  listQueryToWire,
  withoutEmptyExpand,
  type ListEngagementsQuery,
  type RemoteFieldClassesQuery,
  type RetrieveEngagementQuery,
} from "../query.js";
import { execute, type Call, type FetchResult } from "../request.js";
import { validateRequest, type OperationId } from "../validation/spec-validators.js";
import { isMissingContacts, isResolved, label, readReferences, withPlaceholders, type EngagementDraft } from "../references/drafts.js";
import type { LookupCalls, ReferenceCacheSettings, ResolveOptions, Resolver } from "../references/resolver.js";
import {
  callHeaders,
  createParts,
  itemsOf,
  pathId,
  read,
  runCreate,
  walkList,
  writeQuery,
  type AccountTokenMode,
  type CreateOptions,
  type OptionsArg,
  type ResourceContext,
  type RequestOptions,
  type WriteOptions,
} from "./shared.js";
import type {
  Engagement,
  EngagementResponse,
  MetaResponse,
  PaginatedEngagementList,
  PaginatedRemoteFieldClassList,
  PatchedEngagementRequest,
  RemoteFieldClass,
} from "../types.js";

export type { AccountTokenMode, CreateOptions, OptionsArg, RequestOptions, WriteOptions } from "./shared.js";

/** Options of the calls that read the linked account's schema: `validateCreate`, `describeCreate`, `describeUpdate`. */
export interface AccountCheckOptions {
  /** The linked account's token; overrides the client's `accountToken`. */
  accountToken?: string;
  /** Stops waiting; it then rejects with the standard `AbortError`. */
  signal?: AbortSignal;
}

/** @deprecated The earlier name of `AccountCheckOptions`. */
export type DescribeOptions = AccountCheckOptions;

/** Options of `engagements.update`. */
export type UpdateOptions = WriteOptions;

/** `merge.engagements`. */
export interface EngagementsResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Creates an engagement: `POST /crm/v1/engagements`. Resolves with `{ model, warnings, errors, logs }`
   * on 201; a 201 can carry `errors` and `warnings` from the CRM, so read them. `start_time` and
   * `end_time` accept a `Date` too (sent as ISO 8601 UTC).
   * @example
   * const { model, warnings } = await merge.engagements.create({
   *   subject: "Call from customer",
   *   direction: "INBOUND",
   *   start_time: "2022-02-10T00:00:00Z",
   * });
   */
  create(model: EngagementInput, ...options: OptionsArg<Mode, CreateOptions>): Promise<EngagementResponse>;

  /**
   * Turns a draft whose contacts, owner, account and engagement type may be named by what the app
   * knows into the body `create` takes, with Merge's ids. A reference is `{ email }` or `{ remote_id }`
   * for a contact (a Merge id stays as it is), `{ email }` or `{ remote_id }` for the owner, `{ name }`
   * or `{ remote_id }` for the account, `{ activity_type }`, `{ name }` or `{ remote_id }` for the
   * engagement type. Emails and names match trimmed and case-insensitively; exactly one match gives its
   * id, several are ambiguous (never a guess), none is an error, or for a contact what
   * `missingContacts` says. Rejects with `MergeReferenceError` (each reference's pointer, what was
   * looked for and why) before anything is written. Lookups are cached per linked account (see
   * `referenceCacheTtlMs`), shared by concurrent calls, and contact emails go in batches.
   * @example
   * const model = await merge.engagements.resolve({
   *   subject: "Call with Ada", direction: "OUTBOUND", start_time: new Date(),
   *   contacts: [{ email: "ada@example.com" }], owner: { email: "rep@example.com" },
   *   account: { name: "Acme Inc" }, engagement_type: { activity_type: "CALL" },
   * });
   * await merge.engagements.create(model);
   */
  resolve(draft: EngagementDraft, ...options: OptionsArg<Mode, ResolveOptions>): Promise<EngagementInput>;

  /**
   * Checks a create without sending it: resolves to the problems `create` would refuse it for, by
   * pointer, or `[]`. The spec's always (even with `validateRequests: false`), and the linked account's
   * when `accountValidation` is on (in either mode; this may fetch and cache its meta schema). A draft's
   * references are checked for their shape only (no lookups: `resolve` does those).
   * @example
   * const problems = await merge.engagements.validateCreate({ subject: "Call", direction: "SIDEWAYS" });
   * // [{ pointer: "/model/direction", message: "must be equal to one of the allowed values: ..." }]
   */
  validateCreate(model: EngagementDraft, ...options: OptionsArg<Mode, AccountCheckOptions>): Promise<ValidationIssue[]>;

  /**
   * Fetches one page: `GET /crm/v1/engagements`. Dates accept `Date` or ISO strings; `expand` is sent
   * as one comma-joined value.
   * @example
   * const { results, next } = await merge.engagements.list({ page_size: 50, modified_after: new Date("2024-01-01") });
   */
  list(query?: ListEngagementsQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<PaginatedEngagementList>;

  /**
   * Every page, one request each, following `next` with the other parameters unchanged until it is
   * `null`. Stopping the loop (`break`) stops fetching.
   * @example
   * for await (const page of merge.engagements.pages({ page_size: 100 })) console.log(page.results.length);
   */
  pages(query?: ListEngagementsQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<PaginatedEngagementList, void, undefined>;

  /**
   * Every engagement across every page, fetched one page at a time (constant memory).
   * @example
   * for await (const engagement of merge.engagements.listAll({ expand: ["owner"] })) console.log(engagement.subject);
   */
  listAll(query?: ListEngagementsQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<Engagement, void, undefined>;

  /**
   * Fetches one engagement by Merge's id: `GET /crm/v1/engagements/{id}`.
   * @example
   * const engagement = await merge.engagements.retrieve(id, { expand: ["owner", "contacts"] });
   */
  retrieve(id: string, query?: RetrieveEngagementQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<Engagement>;

  /**
   * Changes some fields: `PATCH /crm/v1/engagements/{id}`. A key set to `null` clears the field and is
   * sent; a key left `undefined` is not sent. `start_time` and `end_time` accept a `Date` too.
   * @example
   * await merge.engagements.update(id, { subject: "Follow-up", end_time: null });
   */
  update(id: string, patch: WithDates<PatchedEngagementRequest, BodyDateKey>, ...options: OptionsArg<Mode, UpdateOptions>): Promise<EngagementResponse>;

  /**
   * What a create accepts for this linked account: `GET /crm/v1/engagements/meta/post`.
   * @example
   * const { request_schema } = await merge.engagements.metaForCreate();
   */
  metaForCreate(...options: OptionsArg<Mode, RequestOptions>): Promise<MetaResponse>;

  /**
   * What an update of this engagement accepts: `GET /crm/v1/engagements/meta/patch/{id}`.
   * @example
   * const { request_schema } = await merge.engagements.metaForUpdate(id);
   */
  metaForUpdate(id: string, ...options: OptionsArg<Mode, RequestOptions>): Promise<MetaResponse>;

  /**
   * What a create accepts for this linked account, from `GET /crm/v1/engagements/meta/post` (cached per
   * linked account, shared with `accountValidation`): every field its CRM names, flattened, with
   * whether it is required, its types, format, allowed values and description. What you need to render
   * a form that follows this account's CRM.
   * @example
   * const { canMakeRequest, fields } = await merge.engagements.describeCreate();
   * const required = fields.filter((f) => f.required).map((f) => f.pointer); // ["/model", "/model/subject", ...]
   */
  describeCreate(...options: OptionsArg<Mode, AccountCheckOptions>): Promise<AccountDescription>;

  /**
   * What an update of this engagement accepts for this linked account, from
   * `GET /crm/v1/engagements/meta/patch/{id}` (cached like `describeCreate`).
   * @example
   * const { fields } = await merge.engagements.describeUpdate(id);
   */
  describeUpdate(id: string, ...options: OptionsArg<Mode, AccountCheckOptions>): Promise<AccountDescription>;

  /**
   * One page of the CRM's own engagement fields: `GET /crm/v1/engagements/remote-field-classes`.
   * @example
   * const { results } = await merge.engagements.remoteFieldClasses({ is_custom: true });
   */
  remoteFieldClasses(query?: RemoteFieldClassesQuery, ...options: OptionsArg<Mode, RequestOptions>): Promise<PaginatedRemoteFieldClassList>;

  /**
   * Every remote field class across every page.
   * @example
   * for await (const field of merge.engagements.allRemoteFieldClasses()) console.log(field.remote_key_name);
   */
  allRemoteFieldClasses(query?: RemoteFieldClassesQuery, ...options: OptionsArg<Mode, RequestOptions>): AsyncGenerator<RemoteFieldClass, void, undefined>;
}

export interface EngagementsContext extends ResourceContext {
  /** What `resolve` looks references up with, and how long it keeps what it found. */
  lookups: { calls: LookupCalls; cache: ReferenceCacheSettings };
  baseUrl: string;
  accountValidation: AccountValidationMode;
  accountSchemaTtlMs: number;
  accountSchemaCacheSize: number;
}

/** Meta requests are not retried and wait at most this long: a write must not wait on them. */
const META_TIMEOUT_MS = 10_000;

export function createEngagements(context: EngagementsContext): EngagementsResource<AccountTokenMode> {
  const { raw, transport } = context;
  const metaOptions = (accountToken: string): RequestOptions => ({
    accountToken,
    maxRetries: 0,
    timeoutMs: transport.settings.timeoutMs > 0 ? Math.min(transport.settings.timeoutMs, META_TIMEOUT_MS) : META_TIMEOUT_MS,
  });

  // Account validation's machinery (the schema compiler, the cache of account schemas) is loaded on
  // first use: an app that never turns it on runs none of it, and a bundler that splits dynamic imports
  // (Vite, Rollup, webpack, esbuild --splitting) keeps it out of the app's first download.
  let checks: Promise<AccountChecks> | undefined;
  function account(): Promise<AccountChecks> {
    checks ??= import("../validation/account-validation.js").then(
      ({ createAccountChecks }) =>
        createAccountChecks({
          baseUrl: context.baseUrl,
          ttlMs: context.accountSchemaTtlMs,
          maxEntries: context.accountSchemaCacheSize,
          logger: transport.logger,
          meta: (token, id) => (id === undefined ? resource.metaForCreate(metaOptions(token)) : resource.metaForUpdate(id, metaOptions(token))),
          invalid: (message, problems, cause) => new MergeResponseValidationError(200, problems, message, { cause }),
        }),
      (cause: unknown) => {
        // Tried again on the next call (a chunk may fail to download once).
        checks = undefined;
        throw new MergeConnectionError(`account validation could not be loaded: ${String(cause)}`, { cause });
      },
    );
    return checks;
  }

  // The resolver too is loaded on first use: an app that never names references runs none of it.
  let resolver: Promise<Resolver> | undefined;
  function references(): Promise<Resolver> {
    resolver ??= import("../references/resolver.js").then(
      ({ createResolver }) =>
        createResolver({ ...context.lookups, logger: transport.logger, label, fail: (issues) => new MergeReferenceError(issues) }),
      (cause: unknown) => {
        resolver = undefined;
        throw new MergeConnectionError(`reference resolution could not be loaded: ${String(cause)}`, { cause });
      },
    );
    return resolver;
  }

  /**
   * A create body's problems under the linked account's meta/post schema (cached; `[]` while its meta
   * fails). Waiting ends when `signal` aborts.
   */
  async function accountProblemsOf(accountToken: string, body: unknown, signal: AbortSignal | undefined) {
    const { schema } = await untilAborted((await account()).get(accountToken), signal);
    return schema ? accountProblems(schema, body) : [];
  }

  async function accountDescription(accountToken: string, id: string | undefined, signal: AbortSignal | undefined): Promise<AccountDescription> {
    const loaded = await account();
    const { schema, error } = await untilAborted(loaded.get(accountToken, id), signal);
    if (!schema) throw error;
    const { canMakeRequest, linkedAccountStatus } = schema;
    return { canMakeRequest, linkedAccountStatus, fields: loaded.describeFields(schema.schema), schema: schema.schema };
  }

  const headersOf = (options: RequestOptions) => callHeaders(context, options);
  const idOf = (id: unknown) => pathId(id, "Merge's id of the engagement");
  const readCall = <T>(operation: OperationId, options: RequestOptions, parts: Call<T>["parts"], send: Call<T>["send"]) =>
    read(transport, operation, options, parts, send);

  const resource: EngagementsResource<AccountTokenMode> = {
    async create(model: EngagementInput, options: CreateOptions = {}) {
      const { idempotencyKey, header, query } = createParts(context, options);
      const body = { model: modelToWire(model) };
      const mode = context.accountValidation;
      // After the spec's check: a body the spec refuses costs no meta request.
      const preflight = async () => {
        let problems: ValidationIssue[];
        try {
          problems = await accountProblemsOf(header["X-Account-Token"], body, options.signal);
        } catch (error) {
          // Like a failed meta request, a module that cannot be loaded does not block the write.
          if (!(error instanceof MergeConnectionError)) throw error;
          transport.logger.warn?.(`${error.message}; checked against the spec only`);
          return;
        }
        if (problems.length === 0) return;
        const error = new MergeValidationError(problems, { idempotencyKey });
        if (mode === "strict") throw error;
        transport.logger.warn?.(`${error.message} (sent anyway: accountValidation is "warn")`, { problems });
      };
      return runCreate(transport, {
        operation: "engagementsCreate",
        idempotencyKey,
        parts: { header, query, body },
        overrides: options,
        preflight: mode === "off" ? undefined : preflight,
        send: (fetch, signal): Promise<FetchResult<EngagementResponse>> =>
          raw.POST("/crm/v1/engagements", { params: { header, query }, body, fetch, signal }),
      });
    },

    async resolve(draft: EngagementDraft, options: ResolveOptions = {}) {
      const token = headersOf(options)["X-Account-Token"];
      const missing = options.missingContacts;
      if (missing !== undefined && !isMissingContacts(missing)) {
        throw new MergeValidationError([{ pointer: "/missingContacts", message: 'must be "reject", "omit" or "create"' }]);
      }
      // Nothing to look up: the model as it is (a bulk run passes every row through here).
      if (isResolved(draft)) return draft;
      return (await references()).resolve(withPlaceholders(draft), readReferences(draft), token, options);
    },

    async validateCreate(model: EngagementDraft, options: AccountCheckOptions = {}) {
      const header = headersOf(options);
      // References are checked for their shape here; their lookups are `resolve`'s.
      const plain = isResolved(model);
      const references: ValidationIssue[] = plain ? [] : readReferences(model).problems;
      let body;
      try {
        body = { model: modelToWire(plain ? model : withPlaceholders(model)) };
        validateRequest("engagementsCreate", { header, body }, transport.settings.strictRequests);
      } catch (error) {
        if (error instanceof MergeValidationError) return [...references, ...error.problems];
        throw error;
      }
      if (references.length > 0 || context.accountValidation === "off") return references;
      return accountProblemsOf(header["X-Account-Token"], body, options.signal);
    },

    async list(query: ListEngagementsQuery = {}, options: RequestOptions = {}) {
      const header = headersOf(options);
      const wire = listQueryToWire(query);
      return readCall("engagementsList", options, { header, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/engagements", { params: { header, query: wire }, fetch, signal }),
      );
    },

    pages(query: ListEngagementsQuery = {}, options: RequestOptions = {}) {
      return walkList(query, (page) => resource.list(page, options));
    },

    listAll(query: ListEngagementsQuery = {}, options: RequestOptions = {}) {
      return itemsOf(resource.pages(query, options));
    },

    async retrieve(id: string, query: RetrieveEngagementQuery = {}, options: RequestOptions = {}) {
      const header = headersOf(options);
      const path = { id: idOf(id) };
      const wire = withoutEmptyExpand(query);
      return readCall("engagementsRetrieve", options, { header, path, query: wire }, (fetch, signal) =>
        raw.GET("/crm/v1/engagements/{id}", { params: { header, path, query: wire }, fetch, signal }),
      );
    },

    async update(id: string, patch: WithDates<PatchedEngagementRequest, BodyDateKey>, options: UpdateOptions = {}) {
      const header = headersOf(options);
      const path = { id: idOf(id) };
      const query = writeQuery(options);
      const body = { model: modelToWire(patch) };
      return execute(transport, {
        operation: "engagementsPartialUpdate",
        method: "PATCH",
        write: true,
        // PATCH sets fields to given values: sending it twice leaves the same state.
        retry: "idempotent",
        parts: { header, path, query, body },
        overrides: options,
        send: (fetch, signal): Promise<FetchResult<EngagementResponse>> =>
          raw.PATCH("/crm/v1/engagements/{id}", { params: { header, path, query }, body, fetch, signal }),
      });
    },

    async metaForCreate(options: RequestOptions = {}) {
      const header = headersOf(options);
      return readCall("engagementsMetaPostRetrieve", options, { header }, (fetch, signal) =>
        raw.GET("/crm/v1/engagements/meta/post", { params: { header }, fetch, signal }),
      );
    },

    async metaForUpdate(id: string, options: RequestOptions = {}) {
      const header = headersOf(options);
      const path = { id: idOf(id) };
      return readCall("engagementsMetaPatchRetrieve", options, { header, path }, (fetch, signal) =>
        raw.GET("/crm/v1/engagements/meta/patch/{id}", { params: { header, path }, fetch, signal }),
      );
    },

    async describeCreate(options: AccountCheckOptions = {}) {
      const token = headersOf(options)["X-Account-Token"];
      return accountDescription(token, undefined, options.signal);
    },

    async describeUpdate(id: string, options: AccountCheckOptions = {}) {
      const token = headersOf(options)["X-Account-Token"];
      const path = idOf(id);
      return accountDescription(token, path, options.signal);
    },

    async remoteFieldClasses(query: RemoteFieldClassesQuery = {}, options: RequestOptions = {}) {
      const header = headersOf(options);
      return readCall("engagementsRemoteFieldClassesList", options, { header, query }, (fetch, signal) =>
        raw.GET("/crm/v1/engagements/remote-field-classes", { params: { header, query }, fetch, signal }),
      );
    },

    allRemoteFieldClasses(query: RemoteFieldClassesQuery = {}, options: RequestOptions = {}) {
      return itemsOf(walkList(query, (page) => resource.remoteFieldClasses(page, options)));
    },
  };
  return resource;
}
