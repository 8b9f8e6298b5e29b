/**
 * Merge's webhook signature: `X-Merge-Webhook-Signature` is the HMAC-SHA256 of the raw body bytes,
 * keyed with the organization's webhook signature key, encoded as base64url.
 *
 * Two backends, one answer. No `node:` import anywhere, so the module loads on Cloudflare Workers and in
 * browsers, where WebCrypto does the work. Where the runtime hands out its own crypto module without an
 * import (`process.getBuiltinModule`: Node 20.16+, Bun, Deno), its synchronous HMAC is used instead:
 * on Node, `crypto.subtle.verify` alone costs 4 to 6 times a `createHmac` of a 2 kB body
 * (`npm run bench:webhooks`), because each WebCrypto call is a job queued and awaited.
 */

const encoder = new TextEncoder();

/** An HMAC-SHA256 signature is 32 bytes: 43 base64url characters, 44 with its `=` padding. */
const SIGNATURE_BYTES = 32;
/** Longer headers are refused before any decoding, so a 10 kB header costs nothing. */
const MAX_SIGNATURE_LENGTH = 128;

/** The part of `node:crypto` used here (Node's, Bun's or Deno's). */
interface BuiltinCrypto {
  createSecretKey(key: Uint8Array): object;
  createHmac(algorithm: "sha256", key: object): { update(data: string | Uint8Array): { digest(): Uint8Array } };
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

function isBuiltinCrypto(value: unknown): value is BuiltinCrypto {
  if (typeof value !== "object" || value === null) return false;
  return ["createSecretKey", "createHmac", "timingSafeEqual"].every((name) => typeof Reflect.get(value, name) === "function");
}

/** The runtime's own crypto module, reached without an import; `undefined` on Workers and in browsers. */
function findBuiltinCrypto(): BuiltinCrypto | undefined {
  try {
    const get: unknown = Reflect.get(Reflect.get(globalThis, "process") ?? {}, "getBuiltinModule");
    if (typeof get !== "function") return undefined;
    const found: unknown = Reflect.apply(get, Reflect.get(globalThis, "process"), ["node:crypto"]);
    return isBuiltinCrypto(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

/** Which backend signs and verifies: chosen once, at load. Tests run the same cases through both. */
export type SignatureBackend = "builtin" | "webcrypto";
const builtin = findBuiltinCrypto();
export const signatureBackend: SignatureBackend = builtin ? "builtin" : "webcrypto";

/**
 * Keys made from key text, one map per backend: making a key costs more than verifying a small body, so
 * each is made once. A process has one key, or a few while rotating, so the maps stay small (and are
 * capped anyway: the oldest goes first).
 */
const MAX_CACHED_KEYS = 16;
const secretKeys = new Map<string, object>();
const cryptoKeys = new Map<string, Promise<CryptoKey>>();

function remembered<T>(cache: Map<string, T>, key: string, make: () => T): T {
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const made = make();
  if (cache.size >= MAX_CACHED_KEYS) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, made);
  return made;
}

/** The builtin backend's HMAC-SHA256 of `body` under `key`. */
function builtinMac(crypto: BuiltinCrypto, key: string, body: WebhookBody): Uint8Array {
  const secret = remembered(secretKeys, key, () => crypto.createSecretKey(encoder.encode(key)));
  return crypto.createHmac("sha256", secret).update(body instanceof ArrayBuffer ? new Uint8Array(body) : body).digest();
}

function hmacKey(key: string): Promise<CryptoKey> {
  return remembered(cryptoKeys, key, () => {
    const imported = crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    // A key WebCrypto refuses must not stay cached as a rejected promise.
    imported.catch(() => cryptoKeys.delete(key));
    return imported;
  });
}

/** A body as given: the text of `request.text()`, or bytes (`Uint8Array`, `Buffer`, `ArrayBuffer`). */
export type WebhookBody = string | Uint8Array | ArrayBuffer;

/** The bytes a body is signed over: a string is taken as UTF-8, bytes as they are. */
function bodyBytes(body: string | Uint8Array | ArrayBuffer): Uint8Array<ArrayBuffer> {
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // WebCrypto wants an ArrayBuffer-backed view; a view of a SharedArrayBuffer is copied.
  return body.buffer instanceof ArrayBuffer ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : new Uint8Array(body);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Each base64url character's value, by character code (-1: not base64url). */
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i += 1) VALUES[ALPHABET.charCodeAt(i)] = i;

/** A signature as 43 base64url characters (its padding and surrounding spaces gone), or `undefined`. */
function bareSignature(signature: string): string | undefined {
  if (signature.length > MAX_SIGNATURE_LENGTH) return undefined;
  const text = signature.trim();
  if (text.length === 44 && text.endsWith("=")) return text.slice(0, 43);
  return text.length === 43 ? text : undefined;
}

/**
 * The 32 bytes of a base64url signature (43 characters, or 44 with its one `=`), or `undefined` for
 * anything else, a non-canonical spelling included (another last character for the same bytes): one
 * signature has one spelling, so a delivery has one id.
 */
export function decodeSignature(signature: string): Uint8Array<ArrayBuffer> | undefined {
  const bare = bareSignature(signature);
  if (bare === undefined) return undefined;
  const bytes = new Uint8Array(SIGNATURE_BYTES);
  let buffer = 0;
  let bits = 0;
  let out = 0;
  for (let i = 0; i < bare.length; i += 1) {
    const code = bare.charCodeAt(i);
    const value = code < 128 ? (VALUES[code] ?? -1) : -1;
    if (value < 0) return undefined;
    buffer = ((buffer << 6) | value) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[out] = (buffer >> bits) & 0xff;
      out += 1;
    }
  }
  // 43 characters are 258 bits: 256 of the signature, and 2 that must be zero in the one spelling.
  return (buffer & ((1 << bits) - 1)) === 0 ? bytes : undefined;
}

function encodeSignature(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function checkKey(key: unknown, what: string): asserts key is string {
  // The key's value never goes into a message.
  if (typeof key !== "string" || key.length === 0) throw new TypeError(`${what}: the webhook signature key must be a non-empty string`);
}

/**
 * Whether `signature` is Merge's signature of `body` under `key`: the HMAC-SHA256 of the exact bytes
 * received, base64url with or without `=` padding. Pass the raw body as received (the string of
 * `await request.text()`, or its bytes): never `JSON.stringify` of a parsed body, which differs from
 * what Merge signed.
 *
 * The comparison takes the same time wherever the bytes differ (`timingSafeEqual` of the runtime's
 * crypto module where it offers one, WebCrypto's `verify` elsewhere). Never
 * throws for a bad signature: a missing, empty, oversized, non-base64url or wrong-length one is `false`.
 * It rejects only when `key` is not a non-empty string (a configuration error, not a bad request).
 * @example
 * const ok = await verifyMergeWebhook(await request.text(), request.headers.get("X-Merge-Webhook-Signature"), process.env.MERGE_WEBHOOK_KEY!);
 */
export async function verifyMergeWebhook(body: WebhookBody, signature: string | null | undefined, key: string): Promise<boolean> {
  return verifyWith(signatureBackend, body, signature, key);
}

/** `verifyMergeWebhook` on a given backend (the tests run every case through both). */
export async function verifyWith(backend: SignatureBackend, body: WebhookBody, signature: string | null | undefined, key: string): Promise<boolean> {
  checkKey(key, "verifyMergeWebhook");
  if (typeof signature !== "string") return false;
  const expected = decodeSignature(signature);
  if (!expected) return false;
  if (typeof body !== "string" && !(body instanceof Uint8Array) && !(body instanceof ArrayBuffer)) return false;
  if (backend === "builtin" && builtin) {
    // timingSafeEqual: the comparison takes the same time wherever the bytes differ. Both are 32 bytes.
    return builtin.timingSafeEqual(builtinMac(builtin, key, body), expected);
  }
  // WebCrypto's verify compares in constant time too.
  return crypto.subtle.verify("HMAC", await hmacKey(key), expected, bodyBytes(body));
}

/**
 * Signs `body` as Merge does: base64url (no padding) of the HMAC-SHA256 of its bytes under `key`. For
 * your own tests of a receiver: send the result as `X-Merge-Webhook-Signature`.
 * @example
 * const body = JSON.stringify(event);
 * await fetch(url, { method: "POST", body, headers: { "X-Merge-Webhook-Signature": await signMergeWebhook(body, key) } });
 */
export async function signMergeWebhook(body: WebhookBody, key: string): Promise<string> {
  return signWith(signatureBackend, body, key);
}

/** `signMergeWebhook` on a given backend. */
export async function signWith(backend: SignatureBackend, body: WebhookBody, key: string): Promise<string> {
  checkKey(key, "signMergeWebhook");
  if (backend === "builtin" && builtin) return encodeSignature(builtinMac(builtin, key, body));
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(key), bodyBytes(body));
  return encodeSignature(new Uint8Array(mac));
}

/**
 * The identity of a delivery, from its signature: its 43 base64url characters, without the padding, so
 * the padded and unpadded forms are one event and not two; `undefined` when it is not well-formed.
 */
export function signatureId(signature: string): string | undefined {
  return decodeSignature(signature) ? bareSignature(signature) : undefined;
}
