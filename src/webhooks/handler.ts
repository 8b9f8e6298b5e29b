/**
 * The receiver for Fetch-API servers (`Request` → `Response`): Cloudflare Workers, Deno, Bun, Hono,
 * Next.js route handlers. It checks in the order that keeps work and risk smallest: the method, the size
 * (without reading past the limit), the signature over the raw bytes, then JSON; only then the event
 * is claimed and handed to `onEvent`.
 */
import { createMemoryWebhookDedupe, type WebhookDedupeStore } from "./dedupe.js";
import { isMergeWebhookVerificationError, MergeWebhookVerificationError } from "./errors.js";
import type { MergeWebhookEvent } from "./events.js";
import { signatureId } from "./signature.js";
import { unwrapMergeWebhook } from "./unwrap.js";
import { concatBytes } from "../internal/bytes.js";

/** The header Merge signs each delivery in. */
export const MERGE_WEBHOOK_SIGNATURE_HEADER = "X-Merge-Webhook-Signature";

/** What `onEvent` gets besides the event. */
export interface MergeWebhookContext {
  /**
   * The delivery's identity: its signature, canonical base64url. Merge may deliver one event more than
   * once, with the same signature; this is the id the dedupe store keys on.
   */
  id: string;
  /** The request, its body already read (use its headers, not its body). */
  request: Request;
}

/** What `onError` gets: where a delivery failed, never the key. */
export interface MergeWebhookErrorContext {
  /** The status the handler answered (or answers) with. */
  status: number;
  /** The delivery's id, once its signature was verified. */
  id?: string;
  /** The event, once parsed. */
  event?: MergeWebhookEvent;
}

/** Options of `createMergeWebhookHandler` (and the Node adapter). */
export interface MergeWebhookHandlerOptions {
  /** Your organization's webhook signature key (Merge dashboard → Security). Never logged nor answered. */
  key: string;
  /**
   * Handles one verified event; awaited. Resolve: the handler answers 200 and the delivery is marked
   * handled. Throw: it answers 500, the delivery is released, and Merge's retry is handled again.
   */
  onEvent(event: MergeWebhookEvent, context: MergeWebhookContext): unknown;
  /**
   * Where handled deliveries are remembered, so that a repeated delivery is answered 200 without
   * calling `onEvent` again. `false` turns it off (every delivery is handled).
   * @default createMemoryWebhookDedupe() (one per handler: right for one process)
   */
  dedupe?: WebhookDedupeStore | false;
  /** Bodies larger than this are answered 413, without reading past it. @default 5242880 (5 MB) */
  maxBodyBytes?: number;
  /** How long a handled delivery is remembered, in milliseconds. @default 604800000 (7 days) */
  handledTtlMs?: number;
  /**
   * How long a claim lasts while `onEvent` runs, in milliseconds: a delivery of the same event within it
   * is answered 503 (Merge retries later); after it (a crashed receiver), the event can be claimed again.
   * @default 60000
   */
  leaseMs?: number;
  /**
   * Called with what went wrong when a read delivery is answered 401, 400, 500 or 503 (not for 405 and
   * 413, which are answered before anything is read): log it here. Answers never carry its details.
   */
  onError?(error: unknown, context: MergeWebhookErrorContext): void;
}

const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
const DEFAULT_HANDLED_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_LEASE_MS = 60_000;

function answer(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ message }), { status, headers: { "content-type": "application/json", ...headers } });
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`createMergeWebhookHandler: ${name} must be a positive number`);
  return value;
}

/**
 * The body's bytes, or `undefined` when it is longer than `max`: then it is cancelled where it stands,
 * never read whole (a `Content-Length` over the limit is refused before reading anything).
 */
async function readLimited(request: Request, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  const body = request.body;
  if (declared > max) {
    body?.cancel().catch(() => {});
    return undefined;
  }
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/**
 * A receiver of Merge's webhooks for any Fetch-API server. Answers:
 * - **405** for anything but POST; **401** for a missing or malformed signature (the body is not read);
 * - **413** for a body over `maxBodyBytes` (not read past the limit);
 * - **401** for a signature that does not match the body, before anything is parsed; **400** for a
 *   signed body that is not JSON of a delivery;
 * - **200** once `onEvent` resolved, or at once for a delivery already handled; **500** when `onEvent`
 *   threw and **503** when the same event is being handled now or the dedupe store failed: Merge
 *   retries any answer outside 2xx.
 *
 * No answer carries the key, the signature or an error's details (see `onError`).
 * @example
 * const handle = createMergeWebhookHandler({
 *   key: env.MERGE_WEBHOOK_KEY,
 *   onEvent: async (event) => {
 *     if (isMergeWebhookEvent(event, "Engagement.added")) await save(event.data);
 *   },
 * });
 * export default { fetch: (request) => handle(request) }; // Cloudflare Workers
 */
export function createMergeWebhookHandler(options: MergeWebhookHandlerOptions): (request: Request) => Promise<Response> {
  const { key, onEvent, onError } = options;
  if (typeof key !== "string" || key.length === 0) throw new TypeError("createMergeWebhookHandler: key must be your non-empty webhook signature key");
  if (typeof onEvent !== "function") throw new TypeError("createMergeWebhookHandler: onEvent must be a function");
  const maxBodyBytes = positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, "maxBodyBytes");
  const handledTtlMs = positive(options.handledTtlMs, DEFAULT_HANDLED_TTL_MS, "handledTtlMs");
  const leaseMs = positive(options.leaseMs, DEFAULT_LEASE_MS, "leaseMs");
  const dedupe = options.dedupe === false ? undefined : (options.dedupe ?? createMemoryWebhookDedupe());

  const report = (error: unknown, context: MergeWebhookErrorContext) => {
    try {
      onError?.(error, context);
    } catch {
      // A failing logger must not change the answer.
    }
  };

  return async function handleMergeWebhook(request: Request): Promise<Response> {
    try {
      if (request.method !== "POST") {
        request.body?.cancel().catch(() => {});
        return answer(405, "Merge webhooks are POSTed", { allow: "POST" });
      }
      const signature = request.headers.get(MERGE_WEBHOOK_SIGNATURE_HEADER);
      // The delivery's identity, once its signature verifies: the signature's bare base64url.
      const id = signature === null ? undefined : signatureId(signature);
      if (signature === null || id === undefined) {
        // No well-formed signature: nothing this body could say would verify, so it is not read at all.
        request.body?.cancel().catch(() => {});
        const reason = signature === null || signature.trim() === "" ? "is missing" : "is not a base64url HMAC-SHA256";
        report(new MergeWebhookVerificationError(`The X-Merge-Webhook-Signature ${reason}`, "signature"), { status: 401 });
        return answer(401, "The X-Merge-Webhook-Signature is missing or does not match the body", { connection: "close" });
      }
      const body = await readLimited(request, maxBodyBytes);
      if (!body) return answer(413, `The body is larger than ${maxBodyBytes} bytes`, { connection: "close" });

      let event: MergeWebhookEvent;
      try {
        event = await unwrapMergeWebhook(body, signature, key);
      } catch (error) {
        const unverified = !isMergeWebhookVerificationError(error) || error.reason === "signature";
        report(error, { status: unverified ? 401 : 400 });
        if (unverified) return answer(401, "The X-Merge-Webhook-Signature is missing or does not match the body");
        return answer(400, error.message);
      }

      const claimedAt = Date.now();
      if (dedupe) {
        let claim;
        try {
          claim = await dedupe.claim(id, leaseMs);
        } catch (error) {
          report(error, { status: 503, id, event });
          return answer(503, "The dedupe store is unavailable; retry later", { "retry-after": "30" });
        }
        if (claim === "done") return answer(200, "Already handled");
        if (claim === "busy") return answer(503, "This event is being handled now; retry later", { "retry-after": String(Math.ceil(leaseMs / 1000)) });
      }

      try {
        await onEvent(event, { id, request });
      } catch (error) {
        report(error, { status: 500, id, event });
        // A claim whose lease ran out may be another receiver's now: it is left to expire, not released.
        if (dedupe && Date.now() - claimedAt < leaseMs) await dedupe.release(id).catch((releaseError: unknown) => report(releaseError, { status: 500, id, event }));
        return answer(500, "The event could not be handled; Merge will retry it");
      }
      // Marked done only after onEvent resolved: a crash before this line leaves a claim that expires, so the event is handled again.
      if (dedupe) await dedupe.complete(id, handledTtlMs).catch((error: unknown) => report(error, { status: 200, id, event }));
      return answer(200, "Handled");
    } catch (error) {
      report(error, { status: 500 });
      return answer(500, "The webhook could not be received");
    }
  };
}
