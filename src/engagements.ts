/**
 * The Engagements resource: `merge.engagements.*`, one method per operation of the spec.
 */
import type { Client } from "openapi-fetch";
import type { paths } from "../generated/schema.js";
import { callOnce, type Transport } from "./request.js";
import { checkCredential, extraHeaders } from "./secrets.js";
import type { EngagementRequest, EngagementResponse } from "./types.js";

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
}

/** Options of `engagements.create`. */
export interface CreateOptions extends RequestOptions {
  /** Sends `is_debug_mode=true`: the response's `logs` link to Merge's logs of the third-party calls. */
  isDebugMode?: boolean;
  /** Sends `run_async=true`: the third-party write runs asynchronously. */
  runAsync?: boolean;
  /**
   * The `Idempotency-Key` header: Merge replays the stored answer to a repeated key instead of writing
   * twice. Use one key per engagement and reuse it when you retry.
   */
  idempotencyKey?: string;
}

/** The options argument: optional when the client holds the account token, required otherwise. */
export type OptionsArg<Mode extends AccountTokenMode, O extends RequestOptions> = Mode extends "client"
  ? [options?: O]
  : [options: O & { accountToken: string }];

/** `merge.engagements`. */
export interface EngagementsResource<Mode extends AccountTokenMode = "client"> {
  /**
   * Creates an engagement: `POST /crm/v1/engagements`. Resolves with `{ model, warnings, errors, logs }`
   * on 201; a 201 can carry `errors` and `warnings` from the CRM, so read them.
   * @example
   * const { model, warnings } = await merge.engagements.create({
   *   subject: "Call from customer",
   *   direction: "INBOUND",
   *   start_time: "2022-02-10T00:00:00Z",
   * });
   */
  create(model: EngagementRequest, ...options: OptionsArg<Mode, CreateOptions>): Promise<EngagementResponse>;
}

export interface EngagementsContext {
  raw: Client<paths, "application/json">;
  transport: Transport;
  accountToken: string | undefined;
}

export function createEngagements(context: EngagementsContext): EngagementsResource<AccountTokenMode> {
  const { raw, transport } = context;

  /** The headers every call sends besides the client's: the account token, and the caller's extras. */
  function callHeaders(options: RequestOptions) {
    const token = checkCredential(options.accountToken ?? context.accountToken, "/header/X-Account-Token", "accountToken");
    return { ...extraHeaders(options.headers), "X-Account-Token": token };
  }

  return {
    async create(model: EngagementRequest, options: CreateOptions = {}) {
      const header: { "X-Account-Token": string; "Idempotency-Key"?: string } = callHeaders(options);
      if (options.idempotencyKey !== undefined) {
        header["Idempotency-Key"] = checkCredential(options.idempotencyKey, "/header/Idempotency-Key", "idempotencyKey");
      }
      const query: { is_debug_mode?: boolean; run_async?: boolean } = {};
      if (options.isDebugMode !== undefined) query.is_debug_mode = options.isDebugMode;
      if (options.runAsync !== undefined) query.run_async = options.runAsync;
      return callOnce(transport, { method: "POST", write: true, idempotencyKey: options.idempotencyKey }, (fetch) =>
        raw.POST("/crm/v1/engagements", {
          params: { header, query },
          body: { model },
          fetch,
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
    },
  };
}
