/**
 * A UUID-shaped string (version 8, "custom") from the first 32 hex digits of a hash: what the spec
 * recommends for an `Idempotency-Key`, derived instead of random so every process sends the same one.
 */
export function uuidFromHex(hex: string): string {
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
