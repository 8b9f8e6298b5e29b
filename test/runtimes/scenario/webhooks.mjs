// The webhooks scenario every runtime of the matrix runs, on `merge-crm-engagements/webhooks` as it is
// handed (imported as ESM or required as CommonJS). Plain JavaScript and web APIs only: no Node, Bun or
// Deno API. The signature it is given was computed by the driver (test/runtimes/matrix.ts) with
// node:crypto, independently of the package; this reports what the package made of it, and the driver
// checks every field.

import { observe } from "./core.mjs";

/** base64url without padding, padded with "=" to a multiple of 4 (what some senders do). */
function padded(signature) {
  return signature + "=".repeat((4 - (signature.length % 4)) % 4);
}

const URL_ = "https://receiver.example/webhooks/merge";
const HEADER = "X-Merge-Webhook-Signature";

/**
 * @param webhooks the exports of `merge-crm-engagements/webhooks`
 * @param lib the exports of the main entry (for its base `MergeError`)
 * @param options `{ body, signature, key }`: a signed Engagement.added delivery (`signature` is
 *   base64url, unpadded, over the UTF-8 bytes of `body` with `key`)
 */
export async function runWebhookScenario(webhooks, lib, { body, signature, key }) {
  const bytes = new TextEncoder().encode(body);
  // One byte of the body changed (its last: the closing brace becomes a space), same signature.
  const tampered = `${body.slice(0, -1)} `;
  const verify = (b, s, k = key) => observe(() => webhooks.verifyMergeWebhook(b, s, k));

  const result = {
    exports: Object.fromEntries(
      [
        "verifyMergeWebhook",
        "signMergeWebhook",
        "unwrapMergeWebhook",
        "isMergeWebhookEvent",
        "createMergeWebhookHandler",
        "createMemoryWebhookDedupe",
        "createRedisWebhookDedupe",
        "MergeWebhookVerificationError",
      ].map((name) => [name, typeof webhooks[name]]),
    ),
    // What arrived here: the driver checks the non-ASCII text survived the trip (argv, a query string).
    bodyChars: body.length,
    bodyBytes: bytes.length,
    paddedLength: padded(signature).length,
    verify: {
      valid: await verify(body, signature),
      validBytes: await verify(bytes, signature),
      padded: await verify(body, padded(signature)),
      tampered: await verify(tampered, signature),
      wrongKey: await verify(body, signature, `${key}-wrong`),
      garbage: await verify(body, "not a signature!"),
      empty: await verify(body, ""),
      missing: await verify(body, undefined),
      null: await verify(body, null),
    },
    sign: await observe(() => webhooks.signMergeWebhook(body, key)),
    signBytes: await observe(() => webhooks.signMergeWebhook(bytes, key)),
    unwrap: await observe(async () => {
      const event = await webhooks.unwrapMergeWebhook(body, signature, key);
      return {
        event: event?.hook?.event,
        hookId: event?.hook?.id,
        linkedAccountId: event?.linked_account?.id,
        dataId: event?.data?.id,
        subject: event?.data?.subject,
        guard: webhooks.isMergeWebhookEvent(event, "Engagement.added"),
        otherGuard: webhooks.isMergeWebhookEvent(event, "Engagement.removed"),
      };
    }),
    unwrapTampered: await observe(async () => {
      try {
        const event = await webhooks.unwrapMergeWebhook(tampered, signature, key);
        return { resolved: JSON.stringify(event) };
      } catch (error) {
        return {
          name: error?.name,
          reason: error?.reason,
          isClass: error instanceof webhooks.MergeWebhookVerificationError,
          // The base class of the main entry: one MergeError across entry points (no second copy).
          isMergeError: error instanceof lib.MergeError,
          guard: lib.isMergeError(error),
        };
      }
    }),
  };

  result.handler = await observe(async () => {
    const calls = [];
    const handle = webhooks.createMergeWebhookHandler({
      key,
      onEvent: async (event, context) => {
        calls.push({ event: event?.hook?.event, dataId: event?.data?.id, idType: typeof context?.id, idEmpty: context?.id === "" });
      },
    });
    const post = (sig) =>
      new Request(URL_, { method: "POST", body, headers: { "content-type": "application/json", ...(sig === undefined ? {} : { [HEADER]: sig }) } });
    const steps = {};
    steps.signed = { status: (await handle(post(signature))).status, calls: calls.length };
    steps.again = { status: (await handle(post(signature))).status, calls: calls.length };
    // Its first character changed (not its last, whose low bits a lenient decoder may ignore).
    const bad = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    steps.badSignature = { status: (await handle(post(bad))).status, calls: calls.length };
    steps.noSignature = { status: (await handle(post(undefined))).status, calls: calls.length };
    steps.get = { status: (await handle(new Request(URL_, { method: "GET" }))).status, calls: calls.length };
    return { steps, calls };
  });

  return result;
}

/** The webhook options of the scenario's JSON options (`{ webhook: { body, signature, key } }`). */
export function webhookOptions(options) {
  const webhook = options?.webhook;
  for (const key of ["body", "signature", "key"]) {
    if (typeof webhook?.[key] !== "string") throw new Error(`scenario option webhook.${key} is missing`);
  }
  return webhook;
}
