/**
 * Differential test: `verifyWith` (both backends: the runtime's own HMAC and WebCrypto) says valid
 * exactly when node:crypto's HMAC-SHA256 of the same bytes, base64url, equals the header (padding
 * aside), on fast-check generated bodies (any UTF-8 text, raw bytes, lone surrogates), keys and headers:
 * the true signature, padded or not, with one character changed, cut, lengthened, in standard base64,
 * or arbitrary text. It never throws. And the handler, given the same deliveries, answers 401 exactly
 * when the signature is not valid.
 *
 * WEBHOOK_FUZZ_RUNS=<n> (default 300; `npm run test:webhooks:fuzz` runs 10,000) and WEBHOOK_FUZZ_SEED.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { createMergeWebhookHandler } from "../../src/webhooks/index.js";
import { verifyWith, type SignatureBackend } from "../../src/webhooks/signature.js";
import { integerFromEnvironment } from "../support/prism.js";

const RUNS = integerFromEnvironment("WEBHOOK_FUZZ_RUNS", 300);
const SEED = integerFromEnvironment("WEBHOOK_FUZZ_SEED", 20_261_201);

/** What Merge would send for `body` under `key`, computed without the library. */
function truth(body: string | Uint8Array, key: string): string {
  return createHmac("sha256", key).update(body).digest("base64url");
}

/** The oracle: valid iff the header, trimmed and without its padding, is the canonical signature. */
function oracle(body: string | Uint8Array, header: string, key: string): boolean {
  const bare = header.trim();
  const expected = truth(body, key);
  return bare === expected || bare === `${expected}=`;
}

const body = fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 }), fc.uint8Array({ maxLength: 300 }));
const key = fc.string({ minLength: 1, maxLength: 64, unit: "grapheme" });
type Mutation = { kind: "true" | "padded" | "flip" | "cut" | "extend" | "standard" | "junk"; at: number; junk: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("true", "padded", "flip", "cut", "extend", "standard", "junk"),
  at: fc.nat(42),
  junk: fc.string({ maxLength: 200 }),
});

function header(signature: string, { kind, at, junk }: Mutation): string {
  switch (kind) {
    case "true":
      return signature;
    case "padded":
      return `${signature}=`;
    case "flip": {
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const old = signature[at] ?? "A";
      const replacement = alphabet[(alphabet.indexOf(old) + 1 + (junk.length % 60)) % alphabet.length] ?? "B";
      return signature.slice(0, at) + replacement + signature.slice(at + 1);
    }
    case "cut":
      return signature.slice(0, at);
    case "extend":
      return signature + (junk || "A");
    case "standard":
      return signature.replace(/-/g, "+").replace(/_/g, "/");
    case "junk":
      return junk;
  }
}

test.each(["builtin", "webcrypto"] as SignatureBackend[])(`the %s backend agrees with node:crypto on ${RUNS} generated deliveries`, async (backend) => {
  let valid = 0;
  await fc.assert(
    fc.asyncProperty(body, key, mutation, async (payload, secret, change) => {
      const sent = header(truth(payload, secret), change);
      const expected = oracle(payload, sent, secret);
      const got = await verifyWith(backend, payload, sent, secret);
      if (got) valid += 1;
      return got === expected;
    }),
    { numRuns: RUNS, seed: SEED },
  );
  process.stdout.write(`webhook fuzz (${backend}): ${RUNS} deliveries, ${valid} valid, 0 disagreements with node:crypto [seed ${SEED}]\n`);
  expect(valid).toBeGreaterThan(0);
  expect(valid).toBeLessThan(RUNS);
}, 120_000);

test(`the handler answers 401 exactly when the signature is not valid (${Math.ceil(RUNS / 3)} deliveries)`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 200 }), mutation, async (subject, change) => {
      const secret = "fuzz-webhook-key-0123456789";
      const payload = JSON.stringify({ hook: { event: "Engagement.added" }, linked_account: { id: "a" }, data: { id: "e", subject } });
      const sent = header(truth(payload, secret), change);
      const handle = createMergeWebhookHandler({ key: secret, onEvent: () => {}, dedupe: false });
      const request = new Request("http://receiver/", { method: "POST", body: payload, headers: { "x-merge-webhook-signature": sent.replace(/[\r\n\0]/g, "") } });
      const expected = oracle(payload, sent.replace(/[\r\n\0]/g, ""), secret);
      const { status } = await handle(request);
      return expected ? status === 200 : status === 401;
    }),
    { numRuns: Math.ceil(RUNS / 3), seed: SEED },
  );
}, 120_000);
