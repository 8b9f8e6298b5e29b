/**
 * `createMergeCrmClient`: options, credentials and the typed openapi-fetch client behind every call.
 */
import createClient, { type Client } from "openapi-fetch";
import type { paths } from "../../generated/schema.js";
import type { AccountValidationMode } from "./validation/account-validation.js";
import { DeferredRequest, transportFetch } from "./deferred-request.js";
import { createEngagements, type AccountTokenMode, type EngagementsResource } from "./resources/engagements.js";
import { createContacts, type ContactsResource } from "./resources/contacts.js";
import { createUsers, type UsersResource } from "./resources/users.js";
import { createAccounts, type AccountsResource } from "./resources/accounts.js";
import { createEngagementTypes, type EngagementTypesResource } from "./resources/engagement-types.js";
import { createAccountDetails, type AccountDetailsResource } from "./resources/account-details.js";
import { MergeValidationError } from "./errors.js";
import { defaultLogger, type Logger } from "./logger.js";
import { isRegion, REGION_BASE_URLS, type Region } from "./regions.js";
import type { FetchLike, Settings } from "./request.js";
import { checkCredential, createRedactor, extraHeaders } from "./secrets.js";
import type { ResponseValidationMode } from "./validation/spec-validators.js";

/** Every setting of the client. */
export interface ClientOptions {
  /** Your Merge production API key, sent as `Authorization: Bearer <apiKey>`. Keep it server-side. */
  apiKey: string;
  /**
   * The linked account's token, sent as `X-Account-Token`. Give it here for a client bound to one
   * linked account, or per call (`{ accountToken }`) for a client that serves many.
   */
  accountToken?: string;
  /**
   * The region of your Merge organization.
   * @default "us"
   */
  region?: Region;
  /**
   * A base URL that overrides `region`, such as a mock server's. Must be `https:` unless its host is
   * loopback (`localhost`, `127.0.0.1`, `[::1]`).
   */
  baseUrl?: string;
  /**
   * The `fetch` to send requests with.
   * @default globalThis.fetch
   */
  fetch?: FetchLike;
  /** Extra headers sent with every request. They cannot replace the credentials. */
  headers?: Record<string, string>;
  /**
   * Check every request body, query and path against the spec before sending; a bad one rejects with
   * `MergeValidationError` and nothing is sent.
   * @default true
   */
  validateRequests?: boolean;
  /**
   * Refuse request fields the spec does not know. By default they are sent as given: the API may be
   * newer than this spec.
   * @default false
   */
  strictRequests?: boolean;
  /**
   * Check 2xx bodies against the spec: `"warn"` reports a mismatch to `logger.warn`, `"strict"` rejects
   * with `MergeResponseValidationError`. Unknown fields and unknown enum values never count.
   * @default "warn"
   */
  validateResponses?: ResponseValidationMode;
  /**
   * Check each `create` against what the linked account's CRM requires, before sending: the
   * `request_schema` of `GET /crm/v1/engagements/meta/post`, fetched once per linked account and cached
   * (see `accountSchemaTtlMs`). `"warn"` reports a mismatch (and a linked account that cannot make
   * requests) to `logger.warn` and sends anyway; `"strict"` rejects with `MergeValidationError` and
   * sends nothing. A meta request that fails never blocks a write: the create is then checked against
   * the spec only, the failure is reported once, and the meta request is retried after a back-off
   * (5 s, doubling up to 5 min). Off by default: it costs one request per linked account and its
   * latency on that account's first create.
   * @default "off"
   */
  accountValidation?: AccountValidationMode;
  /**
   * How long a linked account's meta schema is used before it is fetched again, in milliseconds.
   * @default 3600000 (one hour)
   */
  accountSchemaTtlMs?: number;
  /**
   * How many linked accounts' schemas are kept; past it the least recently used is dropped.
   * @default 1000
   */
  accountSchemaCacheSize?: number;
  /**
   * How long `engagements.resolve` keeps what a lookup found (a contact's id by email, a user's, an
   * account's, the engagement types), per linked account, in milliseconds. A lookup that found nothing
   * is kept a minute at most.
   * @default 3600000 (one hour)
   */
  referenceCacheTtlMs?: number;
  /**
   * How many lookups `engagements.resolve` keeps, over all linked accounts; past it the least recently
   * used is dropped.
   * @default 10000
   */
  referenceCacheSize?: number;
  /**
   * How many times a failed call may be retried (connection errors, timeouts, 408, 429, 5xx; a POST
   * only with its idempotency key, else only on 429).
   * @default 2
   */
  maxRetries?: number;
  /**
   * The first backoff delay, in milliseconds; it doubles on each retry, with jitter.
   * @default 500
   */
  initialRetryDelayMs?: number;
  /**
   * The longest wait before a retry, in milliseconds, `Retry-After` included.
   * @default 30000
   */
  maxRetryDelayMs?: number;
  /**
   * The limit of each attempt (until the body is read), in milliseconds. `0` or `Infinity` for none.
   * @default 60000
   */
  timeoutMs?: number;
  /**
   * Where the client reports: requests (headers redacted) at `debug`, retries at `info`, response
   * mismatches at `warn`.
   * @default warnings to console.warn
   */
  logger?: Logger;
}

/** The client: one property per resource, plus the raw typed openapi-fetch client. */
export interface MergeCrmClient<Mode extends AccountTokenMode = "client"> {
  /** The Engagements resource: `POST /crm/v1/engagements` and the rest. */
  readonly engagements: EngagementsResource<Mode>;
  /** The Contacts resource: `GET /crm/v1/contacts` (by email address, ...), `POST /crm/v1/contacts` and the rest. */
  readonly contacts: ContactsResource<Mode>;
  /** The Users resource (the CRM's users, who own engagements): `GET /crm/v1/users` and `/users/{id}`. */
  readonly users: UsersResource<Mode>;
  /** The Accounts resource (companies): `GET /crm/v1/accounts` and `/accounts/{id}`. */
  readonly accounts: AccountsResource<Mode>;
  /** The Engagement Types resource (call, meeting, email, ...): `GET /crm/v1/engagement-types` and `/engagement-types/{id}`. */
  readonly engagementTypes: EngagementTypesResource<Mode>;
  /** The Account Details resource (the linked account of the token): `GET /crm/v1/account-details`. */
  readonly accountDetails: AccountDetailsResource<Mode>;
  /**
   * The typed openapi-fetch client, for `{ data, error, response }` style calls. It sends the API key
   * (and the client's account token, when given) with every request.
   */
  readonly raw: Client<paths, "application/json">;
  /** The base URL requests go to. */
  readonly baseUrl: string;
}

/**
 * Creates a client.
 * @example
 * const merge = createMergeCrmClient({ apiKey: process.env.MERGE_API_KEY!, accountToken, region: "eu" });
 * const { model, warnings, errors } = await merge.engagements.create({ subject: "Call from customer" });
 */
export function createMergeCrmClient(options: ClientOptions & { accountToken: string }): MergeCrmClient<"client">;
export function createMergeCrmClient(options: ClientOptions): MergeCrmClient<"per-call">;
export function createMergeCrmClient(options: ClientOptions): MergeCrmClient<AccountTokenMode> {
  const apiKey = checkCredential(options.apiKey, "/apiKey", "apiKey");
  const accountToken =
    options.accountToken === undefined ? undefined : checkCredential(options.accountToken, "/accountToken", "accountToken");
  const baseUrl = resolveBaseUrl(options);
  const redact = createRedactor([apiKey, accountToken]);
  const fetch: FetchLike = transportFetch(options.fetch);

  const headers: Record<string, string> = { ...extraHeaders(options.headers), Authorization: `Bearer ${apiKey}` };
  if (accountToken !== undefined) headers["X-Account-Token"] = accountToken;
  // `expand` is `style: form, explode: false` in the spec: ONE comma-joined value, as Merge requires.
  const raw = createClient<paths>({
    baseUrl,
    fetch,
    headers,
    querySerializer: { array: { style: "form", explode: false } },
    Request: DeferredRequest,
  });

  const logger = options.logger ?? defaultLogger;
  const settings = resolveSettings(options);
  const transport = { fetch, redact, logger, settings };
  const { accountValidation, accountSchemaTtlMs, accountSchemaCacheSize } = settings;
  const context = { raw, transport, accountToken };
  const contacts = createContacts(context);
  const users = createUsers(context);
  const accounts = createAccounts(context);
  const engagementTypes = createEngagementTypes(context);
  const lookups = {
    calls: { contacts, users, accounts, engagementTypes },
    cache: { ttlMs: settings.referenceCacheTtlMs, maxEntries: settings.referenceCacheSize },
  };
  return {
    engagements: createEngagements({ ...context, baseUrl, accountValidation, accountSchemaTtlMs, accountSchemaCacheSize, lookups }),
    contacts,
    users,
    accounts,
    engagementTypes,
    accountDetails: createAccountDetails(context),
    raw,
    baseUrl,
  };
}

/** The settings of a client: those of every call, and the account validation's. */
interface ClientSettings extends Settings {
  accountValidation: AccountValidationMode;
  accountSchemaTtlMs: number;
  accountSchemaCacheSize: number;
  referenceCacheTtlMs: number;
  referenceCacheSize: number;
}

const MODES = ["off", "warn", "strict"];

function resolveSettings(options: ClientOptions): ClientSettings {
  const count = (value: number | undefined, fallback: number, pointer: string): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
      throw new MergeValidationError([{ pointer, message: "must be a number >= 0" }]);
    }
    return value;
  };
  const mode = options.validateResponses ?? "warn";
  const accountValidation = options.accountValidation ?? "off";
  const modes: [string, string][] = [["/validateResponses", mode], ["/accountValidation", accountValidation]];
  for (const [pointer, value] of modes) {
    if (!MODES.includes(value)) throw new MergeValidationError([{ pointer, message: 'must be "off", "warn" or "strict"' }]);
  }
  return {
    maxRetries: Math.floor(count(options.maxRetries, 2, "/maxRetries")),
    initialRetryDelayMs: count(options.initialRetryDelayMs, 500, "/initialRetryDelayMs"),
    maxRetryDelayMs: count(options.maxRetryDelayMs, 30_000, "/maxRetryDelayMs"),
    timeoutMs: count(options.timeoutMs, 60_000, "/timeoutMs"),
    validateRequests: options.validateRequests ?? true,
    strictRequests: options.strictRequests ?? false,
    validateResponses: mode,
    accountValidation,
    accountSchemaTtlMs: count(options.accountSchemaTtlMs, 3_600_000, "/accountSchemaTtlMs"),
    accountSchemaCacheSize: Math.max(1, Math.floor(count(options.accountSchemaCacheSize, 1_000, "/accountSchemaCacheSize"))),
    referenceCacheTtlMs: count(options.referenceCacheTtlMs, 3_600_000, "/referenceCacheTtlMs"),
    referenceCacheSize: Math.max(1, Math.floor(count(options.referenceCacheSize, 10_000, "/referenceCacheSize"))),
  };
}

function resolveBaseUrl(options: ClientOptions): string {
  if (options.baseUrl === undefined) {
    const region = options.region ?? "us";
    if (!isRegion(region)) {
      throw new MergeValidationError([
        { pointer: "/region", message: `must be one of ${Object.keys(REGION_BASE_URLS).join(", ")}` },
      ]);
    }
    return REGION_BASE_URLS[region];
  }
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new MergeValidationError([{ pointer: "/baseUrl", message: "must be an absolute URL" }]);
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new MergeValidationError([
      { pointer: "/baseUrl", message: "must use https: (plain http: is allowed only for a loopback host)" },
    ]);
  }
  if (url.username || url.password) {
    throw new MergeValidationError([{ pointer: "/baseUrl", message: "must not contain credentials" }]);
  }
  return url.toString().replace(/\/+$/, "");
}
