/**
 * What every resource shares: the options of a call, the headers it sends besides the client's, how a
 * read is run, path ids, and the cursor of the next page.
 */
import type { Client } from "openapi-fetch";
import type { paths } from "../../../generated/schema.js";
import { MergeValidationError } from "../errors.js";
import { execute, type Call, type ResponseInfo, type Transport } from "../request.js";
import { checkCredential, extraHeaders } from "../secrets.js";
import type { OperationId } from "../validation/spec-validators.js";
import { walkPages } from "../pagination.js";

/**
 * Whether the account token comes from the client (`"client"`) or must be given on every call
 * (`"per-call"`, for a client created without `accountToken`).
 */
export type AccountTokenMode = "client" | "per-call";

/** Options every call accepts. */
export interface RequestOptions {
  /** The linked account's token for this call; overrides the client's `accountToken`. */
  accountToken?: string;
  /** Aborts the call; it then rejects with the standard `AbortError`. */
  signal?: AbortSignal;
  /** Extra headers for this call. They cannot replace the credentials. */
  headers?: Record<string, string>;
  /** The limit of each attempt of this call, in milliseconds; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /** How many times this call may be retried; overrides the client's `maxRetries`. */
  maxRetries?: number;
  /**
   * Called with the status and headers of the answer the call returns, once it succeeded (not for the
   * attempts that were retried): to read the server's `Date` (Merge's clock) or its `X-Request-Id`.
   * @example
   * await merge.engagements.list({}, { onResponse: ({ headers }) => console.log(headers.get("date")) });
   */
  onResponse?: (response: ResponseInfo) => void;
}

/** Options of the writes: `create` and `update`. */
export interface WriteOptions extends RequestOptions {
  /** Sends `is_debug_mode=true`: the response's `logs` link to Merge's logs of the third-party calls. */
  isDebugMode?: boolean;
  /** Sends `run_async=true`: the third-party write runs asynchronously. */
  runAsync?: boolean;
}

/** Options of the creates (`engagements.create`, `contacts.create`). */
export interface CreateOptions extends WriteOptions {
  /**
   * The `Idempotency-Key` header: Merge replays the stored answer to a repeated key instead of writing
   * twice. By default a new UUIDv4 is sent with every `create` call and reused on each of its retries;
   * give your own (one per record) to make retries across processes safe too. With `false` no key
   * is sent, and the call is then retried only on 429.
   * @default crypto.randomUUID()
   */
  idempotencyKey?: string | false;
}

/** The options argument: optional when the client holds the account token, required otherwise. */
export type OptionsArg<Mode extends AccountTokenMode, O extends RequestOptions> = Mode extends "client"
  ? [options?: O]
  : [options: O & { accountToken: string }];

/** What a resource is built from. */
export interface ResourceContext {
  raw: Client<paths, "application/json">;
  transport: Transport;
  accountToken: string | undefined;
}

/** The headers every call sends besides the client's: the account token, and the caller's extras. */
export function callHeaders(context: ResourceContext, options: RequestOptions): Record<string, string> & { "X-Account-Token": string } {
  const token = checkCredential(options.accountToken ?? context.accountToken, "/header/X-Account-Token", "accountToken");
  return { ...extraHeaders(options.headers), "X-Account-Token": token };
}

/** A path's `{id}`, checked: `what` names the object in the message ("Merge's id of the contact"). */
export function pathId(id: unknown, what: string): string {
  if (typeof id !== "string" || id.length === 0) {
    throw new MergeValidationError([{ pointer: "/path/id", message: `must be a non-empty string (${what})` }]);
  }
  return id;
}

/** The query of a write: `is_debug_mode` and `run_async` when given. */
export function writeQuery(options: WriteOptions): { is_debug_mode?: boolean; run_async?: boolean } {
  const query: { is_debug_mode?: boolean; run_async?: boolean } = {};
  if (options.isDebugMode !== undefined) query.is_debug_mode = options.isDebugMode;
  if (options.runAsync !== undefined) query.run_async = options.runAsync;
  return query;
}

/** The `Idempotency-Key` of a create: the caller's, a new UUIDv4, or none (`false`). */
function createKey(options: CreateOptions): string | undefined {
  if (options.idempotencyKey === false) return undefined;
  return checkCredential(options.idempotencyKey ?? crypto.randomUUID(), "/header/Idempotency-Key", "idempotencyKey");
}

/** The headers and query of a create: the call's, with its `Idempotency-Key` when it has one. */
export function createParts(context: ResourceContext, options: CreateOptions) {
  const idempotencyKey = createKey(options);
  const header: { "X-Account-Token": string; "Idempotency-Key"?: string } = callHeaders(context, options);
  if (idempotencyKey !== undefined) header["Idempotency-Key"] = idempotencyKey;
  return { idempotencyKey, header, query: writeQuery(options) };
}

/**
 * Runs a create (a POST with its key): retried like an idempotent call when it has a key; without
 * one only on 429, since a retry after a 5xx or a timeout could create the record twice.
 */
export function runCreate<T>(
  transport: Transport,
  call: Pick<Call<T>, "operation" | "idempotencyKey" | "parts" | "overrides" | "preflight" | "send">,
): Promise<T> {
  return execute(transport, { ...call, method: "POST", write: true, retry: call.idempotencyKey === undefined ? "rate-limit-only" : "idempotent" });
}

/** A read: retried like any idempotent call. */
export function read<T>(transport: Transport, operation: OperationId, options: RequestOptions, parts: Call<T>["parts"], send: Call<T>["send"]): Promise<T> {
  return execute(transport, { operation, method: "GET", write: false, retry: "idempotent", parts, overrides: options, send });
}

/** The same query with the page's cursor (or none, for the first page). */
export function withCursor<Q extends { cursor?: string }>(query: Q, cursor: string | undefined): Q {
  const copy = { ...query };
  if (cursor === undefined) delete copy.cursor;
  else copy.cursor = cursor;
  return copy;
}

/** What a page of any list has. */
export interface ListPage<Item> {
  next?: string | null;
  results?: Item[];
}

/** The pages of a list from `query` on: each page's `next` is sent as `cursor`, the rest unchanged. */
export function walkList<Query extends { cursor?: string }, Page extends ListPage<unknown>>(query: Query, list: (query: Query) => Promise<Page>): AsyncGenerator<Page, void, undefined> {
  return walkPages<Page>(query.cursor, (cursor) => list(withCursor(query, cursor)));
}

/** The objects of every page, in order. */
export async function* itemsOf<Item>(pages: AsyncIterable<ListPage<Item>>): AsyncGenerator<Item, void, undefined> {
  for await (const page of pages) yield* page.results ?? [];
}
