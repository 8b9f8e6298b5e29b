/**
 * `createMergeCrmClient`: options, credentials and the typed openapi-fetch client behind every call.
 */
import createClient, { type Client } from "openapi-fetch";
import type { paths } from "../generated/schema.js";
import { createEngagements, type AccountTokenMode, type EngagementsResource } from "./engagements.js";
import { MergeValidationError } from "./errors.js";
import { isRegion, REGION_BASE_URLS, type Region } from "./regions.js";
import type { FetchLike } from "./request.js";
import { checkCredential, createRedactor, extraHeaders } from "./secrets.js";

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
}

/** The client: one property per resource, plus the raw typed openapi-fetch client. */
export interface MergeCrmClient<Mode extends AccountTokenMode = "client"> {
  /** The Engagements resource: `POST /crm/v1/engagements` and the rest. */
  readonly engagements: EngagementsResource<Mode>;
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
  const fetch: FetchLike = options.fetch ?? ((input) => globalThis.fetch(input));

  const headers: Record<string, string> = { ...extraHeaders(options.headers), Authorization: `Bearer ${apiKey}` };
  if (accountToken !== undefined) headers["X-Account-Token"] = accountToken;
  // `expand` is `style: form, explode: false` in the spec: ONE comma-joined value, as Merge requires.
  const raw = createClient<paths>({ baseUrl, fetch, headers, querySerializer: { array: { style: "form", explode: false } } });

  return {
    engagements: createEngagements({ raw, transport: { fetch, redact }, accountToken }),
    raw,
    baseUrl,
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
