/**
 * Account-aware validation: what a write needs depends on the CRM behind the linked account,
 * and Merge publishes it per account as `request_schema` in `GET /crm/v1/engagements/meta/post`. The
 * client fetches it once per linked account (single-flight, cached for a TTL, bounded LRU) and checks
 * each create against it before sending. Meta trouble never blocks a write: it falls back to the spec
 * alone, is reported once, and is retried after a back-off.
 *
 * The core loads this module (and the schema compiler and `describeFields` with it) with `import()` on
 * first use (src/core/resources/engagements.ts): an app that never turns account validation on and never calls
 * `describeCreate` does not run it, and with a bundler that splits dynamic imports does not download it.
 * It imports nothing of the core at run time (only types), so that such a bundler gives it a chunk of
 * its own instead of moving shared core modules into a third one: what it needs of the core (the error
 * class of an unusable schema) the core passes in. The core checks bodies against the compiled schema
 * with its own `check` (src/core/validation/account-problems.ts) and waits with its own abort handling.
 */
import { describeFields } from "./form-fields.js";
import type { ValidationIssue } from "../errors.js";
import type { Logger } from "../logger.js";
import { compileSchema, type RuntimeSchema } from "./schema-compiler.js";
import type { MetaResponse } from "../types.js";

/**
 * How creates are checked against the linked account's own requirements: not at all, reported to
 * `logger.warn` (and sent), or refused with `MergeValidationError` (nothing sent).
 */
export type AccountValidationMode = "off" | "warn" | "strict";

/** What a linked account's meta says, compiled and ready to check bodies against. */
export interface AccountSchema {
  readonly canMakeRequest: boolean;
  readonly linkedAccountStatus: string | undefined;
  readonly schema: Readonly<Record<string, unknown>>;
  readonly compiled: RuntimeSchema;
}

/** One linked account's entry: its schema or its last failure, until `until`. */
export interface Entry {
  until: number;
  schema?: AccountSchema | undefined;
  error?: unknown;
  /** Consecutive failures, for the back-off and to report only the first of a run. */
  failures: number;
  loading?: Promise<void> | undefined;
}

export interface AccountSchemaCacheOptions {
  ttlMs: number;
  maxEntries: number;
  logger: Logger;
  /** The clock, in milliseconds. */
  now?: () => number;
  /**
   * The error of a meta response whose schema cannot be used (the core passes one that builds its
   * `MergeResponseValidationError`).
   * @default a TypeError
   */
  invalid?: (message: string, problems: ValidationIssue[], cause: unknown) => Error;
}

/** The first wait after a failed meta request; it doubles with each failure in a row, up to the cap. */
export const META_RETRY_MS = 5_000;
export const META_RETRY_MAX_MS = 300_000;

/** What the core asks of this module. */
export interface AccountChecks {
  /**
   * The linked account's entry for a create (`id` undefined) or an update of engagement `id`: its
   * compiled schema, or, while its meta request fails, the error (then `schema` is undefined). Loaded
   * once per linked account, however many ask.
   */
  get(accountToken: string, id?: string): Promise<Entry>;
  /** A schema's fields, flattened for a form. */
  describeFields: typeof describeFields;
}

export interface AccountChecksOptions extends Omit<AccountSchemaCacheOptions, "now"> {
  baseUrl: string;
  /** Fetches the meta of a create (`id` undefined) or of an update of engagement `id`. */
  meta(accountToken: string, id: string | undefined): Promise<MetaResponse>;
}

/** The account checks of one client, over one cache of account schemas. */
export function createAccountChecks({ baseUrl, meta, ...cacheOptions }: AccountChecksOptions): AccountChecks {
  const cache = createAccountSchemaCache(cacheOptions);
  return {
    get: (accountToken, id) =>
      cache.get(
        accountKey(id === undefined ? "post" : `patch ${id}`, baseUrl, accountToken),
        `GET /crm/v1/engagements/meta/${id === undefined ? "post" : `patch/${id}`}`,
        () => meta(accountToken, id),
      ),
    describeFields,
  };
}

/** The cache of account schemas (see `createAccountSchemaCache`). */
export interface AccountSchemaCache {
  /** How many linked accounts are cached. */
  readonly size: number;
  /**
   * The entry of `key`, loading it with `load` when it is missing or stale. `what` names the request in
   * reports.
   */
  get(key: string, what: string, load: () => Promise<MetaResponse>): Promise<Entry>;
}

/**
 * The cache of account schemas. Keys never hold a token (see `accountKey`). A load in flight is shared
 * by every caller that needs the same key; a failure is kept for a back-off, so that writes meanwhile
 * go out checked against the spec only instead of each sending its own meta request. A closure rather
 * than a class: its names minify (this ships in every create-only bundle).
 */
export function createAccountSchemaCache({
  ttlMs,
  maxEntries,
  logger,
  now = Date.now,
  invalid = (message, _problems, cause) => new TypeError(message, { cause }),
}: AccountSchemaCacheOptions): AccountSchemaCache {
  const entries = new Map<string, Entry>();

  const load = async (entry: Entry, what: string, fetchMeta: () => Promise<MetaResponse>): Promise<void> => {
    try {
      const schema = readMeta(await fetchMeta(), what, invalid);
      const { ignored } = schema.compiled;
      if (ignored.length > 0) logger.debug?.(`account validation: ${what}: keywords not checked: ${ignored.join(", ")}`);
      Object.assign(entry, { schema, error: undefined, failures: 0, until: now() + ttlMs });
    } catch (error) {
      const retryMs = Math.min(META_RETRY_MS * 2 ** entry.failures, META_RETRY_MAX_MS);
      Object.assign(entry, { schema: undefined, error, failures: entry.failures + 1, until: now() + retryMs });
      const message =
        `account validation: ${what} failed (${nameAndMessage(error)}); writes to this linked account are checked ` +
        `against the spec only until it is retried in ${Math.round(retryMs / 1000)} s`;
      // Once per run of failures: a linked account whose meta keeps failing must not flood the log.
      (entry.failures === 1 ? logger.warn : logger.debug)?.(message);
    } finally {
      entry.loading = undefined;
    }
  };

  return {
    get size() {
      return entries.size;
    },
    async get(key, what, fetchMeta) {
      let entry = entries.get(key);
      // Least recently used first: a hit moves the key to the end.
      if (entry) entries.delete(key);
      else entry = { until: 0, failures: 0 };
      entries.set(key, entry);
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
      if (!entry.loading && now() >= entry.until) entry.loading = load(entry, what, fetchMeta);
      await entry.loading;
      return entry;
    },
  };
}

/** Reads a meta response; a schema that cannot be used is an `invalid` error. */
function readMeta(meta: MetaResponse, what: string, invalid: NonNullable<AccountSchemaCacheOptions["invalid"]>): AccountSchema {
  const schema: unknown = meta?.request_schema;
  let compiled: RuntimeSchema;
  try {
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw new TypeError("it is not a JSON Schema object");
    compiled = compileSchema(schema);
  } catch (error) {
    // Not internal/errors.ts's messageOf: this module is loaded on first use and imports nothing at run
    // time, so that an app's page loads one chunk for it (test/package/core-bundle.test.ts).
    const message = error instanceof Error ? error.message : String(error);
    throw invalid(`${what}: the request_schema cannot be used: ${message}`, [{ pointer: "/request_schema", message }], error);
  }
  return {
    canMakeRequest: meta.status?.can_make_request !== false,
    linkedAccountStatus: meta.status?.linked_account_status,
    schema: { ...schema },
    compiled,
  };
}

/**
 * The cache key of a linked account's meta: the operation, then a 64-bit hash of the base URL and the
 * account token, so that the token is never a readable key (in a heap dump, a log or an error).
 */
export function accountKey(operation: string, baseUrl: string, accountToken: string): string {
  const text = `${baseUrl}\n${accountToken}`;
  // Two 32-bit lanes: FNV-1a over the characters, and a second lane mixing each step of the first.
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ a, 0x5bd1e995) ^ (b >>> 15);
  }
  return `${operation} ${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}`;
}

/** internal/errors.ts's nameAndMessage, not imported: this module is loaded on first use and imports nothing at run time. */
function nameAndMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
