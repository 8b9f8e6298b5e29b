/**
 * The client's logger: any object with some of `debug`, `info`, `warn`, `error` (`console` fits).
 * Requests are logged at `debug`, retries at `info`, response mismatches at `warn`; credentials are
 * always redacted first.
 */

/** Where the client reports what it does. Each method is optional. */
export interface Logger {
  /** Each request and its answer (method, path, status, time), with the headers redacted. */
  debug?(message: string, details?: Record<string, unknown>): void;
  /** A retry and its delay; in the layers, a pace change after a 429 or an account resumed. */
  info?(message: string, details?: Record<string, unknown>): void;
  /** An answer that does not match the spec, a request sent despite `accountValidation: "warn"`, a contact left out; in the layers, an account suspended or the failure guard holding sends. */
  warn?(message: string, details?: Record<string, unknown>): void;
  /** In the layers, what failed without reaching you: an `onResult` of yours that threw, a worker's error. */
  error?(message: string, details?: Record<string, unknown>): void;
}

/** The default: warnings to `console.warn`, nothing else. */
export const defaultLogger: Logger = {
  warn: (message, details) => (details ? console.warn(message, details) : console.warn(message)),
};

const SECRET_HEADERS = new Set(["authorization", "x-account-token", "cookie", "set-cookie", "proxy-authorization"]);

/** Headers as a plain object, with credential headers replaced by `[REDACTED]`. */
export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = SECRET_HEADERS.has(name) ? "[REDACTED]" : value;
  });
  return out;
}
