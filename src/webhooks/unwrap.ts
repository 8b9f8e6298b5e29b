/** Verify, then parse: the one call a receiver needs when it reads the body itself. */
import { MergeWebhookVerificationError } from "./errors.js";
import { parseDelivery, type MergeWebhookEvent } from "./events.js";
import { verifyMergeWebhook, type WebhookBody } from "./signature.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies a delivery over the exact bytes received, then parses it into a typed event. Nothing is
 * parsed before the signature is checked. An event the spec does not model is returned as a generic
 * `WebhookEvent`, never refused.
 *
 * Rejects with `MergeWebhookVerificationError`: `reason: "signature"` when the signature is missing or
 * wrong (answer 401), `reason: "body"` when it is right but the body is not JSON of a delivery (400).
 * @example
 * const event = await unwrapMergeWebhook(rawBody, request.headers.get("X-Merge-Webhook-Signature"), key);
 * if (isMergeWebhookEvent(event, "Engagement.added")) await store(event.data);
 */
export async function unwrapMergeWebhook(body: WebhookBody, signature: string | null | undefined, key: string): Promise<MergeWebhookEvent> {
  if (!(await verifyMergeWebhook(body, signature, key))) {
    const why = typeof signature === "string" && signature.trim() !== "" ? "does not match the body under this key" : "is missing";
    throw new MergeWebhookVerificationError(`The X-Merge-Webhook-Signature ${why}: the request is not from Merge, or its bytes changed on the way`, "signature");
  }
  let text: string;
  if (typeof body === "string") text = body;
  else {
    try {
      text = decoder.decode(body);
    } catch {
      throw new MergeWebhookVerificationError("The webhook body is signed but is not UTF-8 text", "body", { pointer: "" });
    }
  }
  return parseDelivery(text);
}
