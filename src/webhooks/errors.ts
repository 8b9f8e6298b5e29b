/** The webhooks layer's error: a delivery that is not Merge's, or not a webhook. */
import { MergeError } from "../index.js";

/** Why a delivery was refused. */
export type MergeWebhookVerificationReason =
  /** The signature is missing, malformed, or not the HMAC of these bytes under this key. */
  | "signature"
  /** The signature is right, but the body is not JSON, or not a webhook delivery (`hook.event`, `linked_account`, `data`). */
  | "body";

/**
 * `unwrapMergeWebhook` refused a delivery. `reason` says whether it failed verification (answer 401)
 * or was signed but unreadable (answer 400). The message never holds the key, the signature or the body.
 */
export class MergeWebhookVerificationError extends MergeError {
  override name = "MergeWebhookVerificationError";
  /** `"signature"`: not verified; `"body"`: verified, but not a webhook delivery. */
  readonly reason: MergeWebhookVerificationReason;
  /** For `"body"`: a JSON pointer to what is missing or wrong (`/hook/event`), or `""` for the whole body. */
  readonly pointer: string | undefined;

  constructor(message: string, reason: MergeWebhookVerificationReason, options: { pointer?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.reason = reason;
    this.pointer = options.pointer;
  }
}

/** Whether `error` is a `MergeWebhookVerificationError`. */
export function isMergeWebhookVerificationError(error: unknown): error is MergeWebhookVerificationError {
  return error instanceof MergeWebhookVerificationError;
}
