/** The queue's errors: `MergeError`s, so one `isMergeError` check covers them with the client's. */
import { MergeError } from "../index.js";

/** The base class of `merge-crm-engagements/queue`'s errors. */
export class MergeQueueError extends MergeError {
  override name = "MergeQueueError";
}

/**
 * Redis did not confirm in time (down, unreachable, refusing writes). `mayHaveBeenEnqueued`: the
 * command may have reached Redis before the timeout; enqueueing the same row again is safe either way
 * (its job id is the same).
 */
export class MergeQueueUnavailableError extends MergeQueueError {
  override name = "MergeQueueUnavailableError";
  readonly mayHaveBeenEnqueued: boolean;
  constructor(message: string, options: { mayHaveBeenEnqueued: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.mayHaveBeenEnqueued = options.mayHaveBeenEnqueued;
  }
}

/** A setting is missing or wrong: no secret for rows that carry tokens, a token that does not decrypt. */
export class MergeQueueConfigError extends MergeQueueError {
  override name = "MergeQueueConfigError";
}
