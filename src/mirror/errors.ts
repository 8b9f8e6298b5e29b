/** The mirror's errors: `MergeError`s, so one `isMergeError` check covers them with the client's. */
import { MergeError } from "../index.js";

/** The base class of `merge-crm-engagements/mirror`'s errors. */
export class MergeMirrorError extends MergeError {
  override name = "MergeMirrorError";
}

/**
 * The database cannot be used as given: a driver to install, a PGlite directory open in another
 * process, a Postgres that refuses the connection, an option of the wrong kind.
 */
export class MergeMirrorConfigError extends MergeMirrorError {
  override name = "MergeMirrorConfigError";
}
