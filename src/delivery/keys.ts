/**
 * Names that must come out the same in every run over the same input: the linked account's name in
 * results and the journal (a hash: the token itself is a credential and is never written down), each
 * row's key, and the `Idempotency-Key` a row is sent with (so a retry, or a rerun within Merge's 24 h,
 * replays the stored answer instead of writing twice).
 */
import { createHash } from "node:crypto";
import { uuidFromHex } from "../internal/uuid.js";

/** The name of a linked account in results and the journal: 16 hex characters of a SHA-256 of its token. */
export function accountName(accountToken: string): string {
  return createHash("sha256").update("merge-crm-engagements/bulk account\n").update(accountToken).digest("hex").slice(0, 16);
}

/**
 * The `Idempotency-Key` of a row: a SHA-256 of the linked account's token and the row's key, shaped as
 * a UUID (version 8, "custom"; the spec asks for 1 to 255 characters and recommends a UUID). The same
 * account and key always give the same value; the token cannot be read back from it.
 * @example
 * idempotencyKeyFor("acct_token", "row-17"); // "3f0c…-…-8…-…-…", the same in every run
 */
export function idempotencyKeyFor(accountToken: string, key: string): string {
  // As a JSON pair, so that no (token, key) pair can spell another: ("a\nb", "c") vs ("a", "b\nc").
  return uuidFromHex(createHash("sha256").update(JSON.stringify([accountToken, key])).digest("hex"));
}

/**
 * JSON with every object's keys sorted, so that two rows with the same fields in another order are the
 * same row. `Date`s go through `toJSON` (ISO 8601) as they do on the wire; `undefined` fields are dropped.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => {
    if (field === null || typeof field !== "object" || Array.isArray(field)) return field;
    // fromEntries defines own properties: a field named "__proto__" stays a field.
    return Object.fromEntries(Object.keys(field).sort().map((name): [string, unknown] => [name, Reflect.get(field, name)]));
  }) ?? "null";
}

/**
 * Keys for rows that come without one: a hash of the account and the row's canonical JSON, plus its
 * occurrence among identical rows (`auto:<hash>:1`, `:2`, ...), so identical rows stay distinct and a
 * rerun of the same input maps every row to the same key, even with other rows inserted or reordered.
 *
 * Counting occurrences means remembering each distinct content seen: a 64-bit fingerprint and a count,
 * 12 bytes a slot in an open-addressing table kept between a quarter and half full (24 to 48 bytes
 * a distinct row: 25 MB for a million), instead of a Map of strings (over 100 bytes a row).
 */
export class RowKeys {
  private hi = new Uint32Array(1024);
  private lo = new Uint32Array(1024);
  private counts = new Uint32Array(1024);
  private size = 0;

  /** The key of a row without its own: `auto:<32 hex>:<occurrence>`. */
  derive(account: string, model: unknown): string {
    const hash = createHash("sha256").update(account).update("\n").update(canonicalJson(model)).digest("hex");
    const occurrence = this.count(Number.parseInt(hash.slice(0, 8), 16) >>> 0, Number.parseInt(hash.slice(8, 16), 16) >>> 0);
    return `auto:${hash.slice(0, 32)}:${occurrence}`;
  }

  /** Adds one to the count of a fingerprint (never 0:0, see below) and returns the new count. */
  private count(hi: number, lo: number): number {
    // 0:0 marks an empty slot; the one fingerprint that collides with it moves to 0:1.
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    const mask = this.hi.length - 1;
    for (let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask; ; slot = (slot + 1) & mask) {
      const h = this.hi[slot] ?? 0;
      const l = this.lo[slot] ?? 0;
      if (h === 0 && l === 0) {
        this.hi[slot] = hi;
        this.lo[slot] = lo;
        this.counts[slot] = 1;
        this.size++;
        return 1;
      }
      if (h === hi && l === lo) {
        const next = (this.counts[slot] ?? 0) + 1;
        this.counts[slot] = next;
        return next;
      }
    }
  }

  private grow(): void {
    const { hi, lo, counts } = this;
    const capacity = hi.length * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.counts = new Uint32Array(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < hi.length; i++) {
      const h = hi[i] ?? 0;
      const l = lo[i] ?? 0;
      if (h === 0 && l === 0) continue;
      let slot = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
      while ((this.hi[slot] ?? 0) !== 0 || (this.lo[slot] ?? 0) !== 0) slot = (slot + 1) & mask;
      this.hi[slot] = h;
      this.lo[slot] = l;
      this.counts[slot] = counts[i] ?? 0;
    }
  }
}
