/** verifyMergeWebhook and signMergeWebhook against signatures computed independently (node:crypto). */
import {
  isMergeWebhookEvent,
  isMergeWebhookVerificationError,
  MergeWebhookVerificationError,
  signMergeWebhook,
  unwrapMergeWebhook,
  verifyMergeWebhook,
} from "../../src/webhooks/index.js";
import { signatureBackend, signWith, verifyWith, type SignatureBackend, type WebhookBody } from "../../src/webhooks/signature.js";
import { MergeError } from "../../src/index.js";
import { delivery, ENGAGEMENT_ID, hmac, KEY, padded } from "./deliveries.js";

const body = delivery();
const bytes = new TextEncoder().encode(body);

test("on Node 20.16+ the runtime's own HMAC is used; both backends agree with node:crypto", async () => {
  expect(signatureBackend).toBe("builtin");
  await expect(verifyMergeWebhook(body, hmac(body), KEY)).resolves.toBe(true);
});

describe.each(["builtin", "webcrypto"] as SignatureBackend[])("verifyMergeWebhook on the %s backend", (backend) => {
  const verifyMergeWebhook = (payload: WebhookBody, signature: string | null | undefined, key: string) => verifyWith(backend, payload, signature, key);

  test("accepts the HMAC of the exact bytes, with and without padding, as a string or as bytes", async () => {
    const signature = hmac(body);
    expect(signature).not.toContain("=");
    await expect(verifyMergeWebhook(body, signature, KEY)).resolves.toBe(true);
    await expect(verifyMergeWebhook(body, padded(signature), KEY)).resolves.toBe(true);
    await expect(verifyMergeWebhook(bytes, signature, KEY)).resolves.toBe(true);
    await expect(verifyMergeWebhook(Buffer.from(body), signature, KEY)).resolves.toBe(true);
    await expect(verifyMergeWebhook(bytes.slice().buffer, signature, KEY)).resolves.toBe(true);
    // A view into a larger buffer: only its own bytes count.
    const framed = new Uint8Array(bytes.length + 8);
    framed.set(bytes, 4);
    await expect(verifyMergeWebhook(framed.subarray(4, 4 + bytes.length), signature, KEY)).resolves.toBe(true);
  });

  test("non-ASCII bodies are signed as UTF-8", async () => {
    for (const text of ["Müller", "東京の会議", "☎️ emoji 🧪", "\u0000nul and \u2028 separators"]) {
      const payload = delivery("Engagement.added", { id: ENGAGEMENT_ID, subject: text });
      await expect(verifyMergeWebhook(payload, hmac(payload), KEY)).resolves.toBe(true);
      await expect(verifyMergeWebhook(payload, hmac(Buffer.from(payload, "latin1")), KEY)).resolves.toBe(false);
    }
  });

  test("refuses a tampered body, a wrong key and a re-serialized JSON", async () => {
    const signature = hmac(body);
    await expect(verifyMergeWebhook(body.replace("Müller", "Muller"), signature, KEY)).resolves.toBe(false);
    await expect(verifyMergeWebhook(`${body} `, signature, KEY)).resolves.toBe(false);
    await expect(verifyMergeWebhook(body, signature, `${KEY}x`)).resolves.toBe(false);
    await expect(verifyMergeWebhook(body, hmac(body, "another-key-0123456789"), KEY)).resolves.toBe(false);
    // What frameworks hand over after parsing: the same data, other bytes.
    const reserialized = JSON.stringify(JSON.parse(body), null, 2);
    await expect(verifyMergeWebhook(reserialized, signature, KEY)).resolves.toBe(false);
    const escaped = JSON.stringify(JSON.parse(body)).replace(/ü/g, "\\u00fc");
    expect(JSON.parse(escaped)).toEqual(JSON.parse(body));
    await expect(verifyMergeWebhook(escaped, signature, KEY)).resolves.toBe(false);
  });

  test("is false, never a throw, for missing, empty, garbage, oversized or non-base64url signatures", async () => {
    const signature = hmac(body);
    const standardBase64 = createStandard(signature);
    const cases: (string | null | undefined)[] = [
      undefined,
      null,
      "",
      "   ",
      "not a signature",
      "!!!!",
      "x".repeat(10_000),
      `${signature}${"A".repeat(10_000)}`,
      signature.slice(0, 42),
      `${signature}A`,
      `${signature}===`,
      `${signature}==`,
      nonCanonical(signature),
      `sha256=${signature}`,
      signature.toUpperCase() === signature ? "a" : signature.toUpperCase(),
      "\u00ff".repeat(43),
    ];
    if (standardBase64 !== signature) cases.push(standardBase64);
    for (const candidate of cases) await expect(verifyMergeWebhook(body, candidate, KEY)).resolves.toBe(false);
    // Not a string at all (an array of header values, from JavaScript callers).
    await expect(verifyMergeWebhook(body, [signature] as unknown as string, KEY)).resolves.toBe(false);
  });

  test("a missing key is a configuration error, and its message holds no secret", async () => {
    await expect(verifyMergeWebhook(body, hmac(body), "")).rejects.toThrow(TypeError);
  });
});

/** The same 32 bytes spelled with another last character (its two unused low bits set). */
function nonCanonical(signature: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(signature.slice(-1));
  const other = alphabet[last | 1] ?? "B";
  expect(Buffer.from(signature.slice(0, -1) + other, "base64url")).toEqual(Buffer.from(signature, "base64url"));
  return signature.slice(0, -1) + other;
}

/** The standard-base64 spelling of a base64url signature (`+` and `/`), when it has such characters. */
function createStandard(signature: string): string {
  return signature.replace(/-/g, "+").replace(/_/g, "/");
}

test.each(["builtin", "webcrypto"] as SignatureBackend[])("signMergeWebhook signs as Merge does (node:crypto agrees), without padding, on the %s backend", async (backend) => {
  for (const payload of [body, bytes, "", "東京"]) {
    await expect(signWith(backend, payload, KEY)).resolves.toBe(hmac(payload));
  }
  await expect(signWith(backend, bytes.slice().buffer, KEY)).resolves.toBe(hmac(body));
  await expect(signMergeWebhook(body, KEY)).resolves.toBe(hmac(body));
});

describe("unwrapMergeWebhook", () => {
  test("returns the typed event", async () => {
    const event = await unwrapMergeWebhook(body, hmac(body), KEY);
    expect(isMergeWebhookEvent(event, "Engagement.added")).toBe(true);
    if (!isMergeWebhookEvent(event, "Engagement.added")) throw new Error("narrowing failed");
    // Typed from generated/: data is an Engagement.
    const subject: string | null | undefined = event.data.subject;
    expect(subject).toBe("Anruf mit Müller — 東京 ☎");
    expect(event.data.id).toBe(ENGAGEMENT_ID);
    expect(event.linked_account.integration_slug).toBe("hubspot");
    expect(isMergeWebhookEvent(event, "Engagement.changed")).toBe(false);
  });

  test("passes an event the spec does not model on, as a generic event", async () => {
    const payload = delivery("Issue.created", { id: "issue-1", status: "ONGOING", error_description: "Missing permission" });
    const event = await unwrapMergeWebhook(payload, hmac(payload), KEY);
    expect(event.hook.event).toBe("Issue.created");
    expect(event.data).toEqual({ id: "issue-1", status: "ONGOING", error_description: "Missing permission" });
    const synced = delivery("LinkedAccount.synced", { model_name: "Engagement", model_id: "crm.Engagement", status: "DONE", is_initial_sync: false });
    const sync = await unwrapMergeWebhook(synced, hmac(synced), KEY);
    if (!isMergeWebhookEvent(sync, "LinkedAccount.synced")) throw new Error("not LinkedAccount.synced");
    expect(sync.data.status).toBe("DONE");
  });

  test("rejects an unverified delivery (reason signature) before parsing it", async () => {
    const error = await unwrapMergeWebhook("not json at all", hmac(body), KEY).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MergeWebhookVerificationError);
    expect(error).toBeInstanceOf(MergeError);
    expect(isMergeWebhookVerificationError(error)).toBe(true);
    expect(error).toMatchObject({ reason: "signature", name: "MergeWebhookVerificationError" });
    const missing = await unwrapMergeWebhook(body, undefined, KEY).catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ reason: "signature", message: expect.stringContaining("is missing") });
  });

  test("rejects a signed body that is not JSON of a delivery (reason body, with a pointer)", async () => {
    const cases: [string, string][] = [
      ["{not json", ""],
      ["[1,2]", ""],
      [JSON.stringify({ linked_account: { id: "a" }, data: {} }), "/hook"],
      [JSON.stringify({ hook: { id: "h" }, linked_account: { id: "a" }, data: {} }), "/hook/event"],
      [JSON.stringify({ hook: { event: "Engagement.added" }, data: {} }), "/linked_account"],
      [JSON.stringify({ hook: { event: "Engagement.added" }, linked_account: {}, data: {} }), "/linked_account/id"],
      [JSON.stringify({ hook: { event: "Engagement.added" }, linked_account: { id: "a" } }), "/data"],
      [JSON.stringify({ hook: { event: "Engagement.added" }, linked_account: { id: "a" }, data: null }), "/data"],
    ];
    for (const [payload, pointer] of cases) {
      const error = await unwrapMergeWebhook(payload, hmac(payload), KEY).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ reason: "body", pointer });
    }
    const invalidUtf8 = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    await expect(unwrapMergeWebhook(invalidUtf8, hmac(invalidUtf8), KEY)).rejects.toMatchObject({ reason: "body" });
  });

  test("no error shows the key, the signature or the body", async () => {
    const secretBody = delivery("Engagement.added", { id: ENGAGEMENT_ID, subject: "SECRET-SUBJECT" }).replace("}", "");
    const signature = hmac(secretBody);
    for (const attempt of [() => unwrapMergeWebhook(secretBody, signature, KEY), () => unwrapMergeWebhook(secretBody, "bad", KEY)]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MergeWebhookVerificationError);
      const shown = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack ?? ""}`;
      for (const secret of [KEY, signature, "SECRET-SUBJECT"]) expect(shown).not.toContain(secret);
    }
  });
});
