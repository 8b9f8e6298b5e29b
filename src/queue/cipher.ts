/**
 * Account tokens in jobs, encrypted: AES-256-GCM through WebCrypto, the key derived from the
 * queue's secret with HKDF-SHA-256, a fresh 96-bit IV per token, and the job's id as additional data (a
 * ciphertext moved into another job does not decrypt). A token is never in Redis in clear.
 */
import { MergeQueueConfigError } from "./errors.js";

const SALT = new TextEncoder().encode("merge-crm-engagements/queue account token");
const VERSION = "v1";

/** Encrypts and decrypts the tokens of one queue's jobs. */
export interface TokenCipher {
  seal(token: string, jobId: string): Promise<string>;
  open(sealed: string, jobId: string): Promise<string>;
}

/** The cipher of a secret (at least 16 characters), its key derived once. */
export function tokenCipher(secret: string): TokenCipher {
  if (secret.length < 16) throw new MergeQueueConfigError("MERGE_QUEUE_SECRET (or the secret option) must be at least 16 characters");
  const key = (async () => {
    const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
    return crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: SALT, info: new Uint8Array() }, material, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  })();
  return {
    async seal(token, jobId) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(jobId) }, await key, new TextEncoder().encode(token));
      return `${VERSION}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
    },
    async open(sealed, jobId) {
      const [version, iv, data] = sealed.split(".");
      if (version !== VERSION || iv === undefined || data === undefined) throw new MergeQueueConfigError("The job's account token is not one this version sealed");
      try {
        const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64url(iv), additionalData: new TextEncoder().encode(jobId) }, await key, fromBase64url(data));
        return new TextDecoder().decode(plain);
      } catch {
        throw new MergeQueueConfigError("The job's account token does not decrypt with this MERGE_QUEUE_SECRET (another secret sealed it, or it was altered)");
      }
    },
  };
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}
function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const bytes = Buffer.from(text, "base64url");
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}
