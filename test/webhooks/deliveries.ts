/**
 * Deliveries for the webhook tests, signed independently of the code under test: node:crypto's HMAC
 * over the exact bytes, base64url, as Merge documents it.
 */
import { createHmac } from "node:crypto";

export const KEY = "whsec-test-key-0123456789abcdef";

/** Merge's signature of `body` under `key`, computed with node:crypto (not with the library). */
export function hmac(body: string | Uint8Array, key = KEY): string {
  return createHmac("sha256", key).update(body).digest("base64url");
}

/** The same signature with its `=` padding. */
export function padded(signature: string): string {
  return signature + "=".repeat((4 - (signature.length % 4)) % 4);
}

export const ENGAGEMENT_ID = "550e8400-e29b-41d4-a716-446655440000";

/** A delivery as Merge sends it, with a non-ASCII subject; `event` and `data` can be changed. */
export function delivery(event = "Engagement.added", data: unknown = { id: ENGAGEMENT_ID, subject: "Anruf mit Müller — 東京 ☎", direction: "OUTBOUND" }): string {
  return JSON.stringify({
    hook: { id: "164f934e-5b1a-433e-9f7f-85c72b8cd155", event, target: "https://app.example.com/webhooks/merge" },
    linked_account: {
      id: "0b5f6a2e-3c1d-4e8f-9a7b-2c4d6e8f0a1b",
      integration: "HubSpot",
      integration_slug: "hubspot",
      category: "crm",
      end_user_origin_id: "customer-4711",
      end_user_organization_name: "Acme Corp",
      end_user_email_address: "admin@acme.example",
      status: "COMPLETE",
      webhook_listener_url: null,
      is_duplicate: false,
    },
    data,
  });
}
