/**
 * Credentials handling: header values are checked before anything is sent, and every text that may
 * reach an error, a log or a serialized object is passed through `redact`.
 */
import { MergeValidationError } from "./errors.js";

const REDACTED = "[REDACTED]";

// A header value may hold visible ASCII, spaces and tabs, but no CR, LF or other control characters
// (RFC 9110 §5.5): a token with a newline could smuggle a second header into the request.
const HEADER_VALUE = /^[\x21-\x7e]([\t\x20-\x7e]*[\x21-\x7e])?$/;

/** Refuses a credential that is empty or not a valid header value; names it by its pointer. */
export function checkCredential(value: unknown, pointer: string, what: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new MergeValidationError([{ pointer, message: `${what} is required and must be a non-empty string` }]);
  }
  if (!HEADER_VALUE.test(value)) {
    throw new MergeValidationError([
      { pointer, message: `${what} contains characters not allowed in an HTTP header (such as CR, LF or leading spaces)` },
    ]);
  }
  return value;
}

/** Replaces every credential in a text. */
export type Redactor = (text: string) => string;

/** A redactor for the given secrets (short values are ignored: they would mangle ordinary text). */
export function createRedactor(secrets: readonly (string | undefined)[]): Redactor {
  const known = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 4))];
  if (known.length === 0) return (text) => text;
  return (text) => known.reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

/** Redacts a parsed body: strings directly, JSON values by their serialized form. */
export function redactBody(body: unknown, redact: Redactor): unknown {
  if (typeof body === "string") return redact(body);
  if (body === null || typeof body !== "object") return body;
  const text = JSON.stringify(body);
  const clean = redact(text);
  return clean === text ? body : JSON.parse(clean);
}

/** A URL without user info, safe to show. */
export function safeUrl(url: string, redact: Redactor): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return redact(parsed.toString());
  } catch {
    return redact(url);
  }
}

const CREDENTIAL_HEADERS = new Set(["authorization", "x-account-token"]);

/** The caller's extra headers without any that would replace a credential. */
export function extraHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}
