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

/** `hook` of the test deliveries (the webhook configuration's id, the event, the receiver's URL). */
export function hook(event: string) {
  return { id: "164f934e-5b1a-433e-9f7f-85c72b8cd155", event, target: "https://app.example.com/webhooks/merge" };
}

/** `linked_account` of the test deliveries: a HubSpot account of a German customer. */
export const LINKED_ACCOUNT = {
  id: "0b5f6a2e-3c1d-4e8f-9a7b-2c4d6e8f0a1b",
  integration: "HubSpot",
  integration_slug: "hubspot",
  category: "crm",
  end_user_origin_id: "customer-4711",
  end_user_organization_name: "Müller & Söhne GmbH",
  end_user_email_address: "admin@mueller.example",
  status: "COMPLETE",
  webhook_listener_url: null,
  is_duplicate: false,
} as const;

/** An engagement as `data` carries it (the shape of openapi/components/examples/Engagement.yaml). */
export function engagement(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ENGAGEMENT_ID,
    remote_id: "19202938",
    created_at: "2026-11-30T09:15:02Z",
    modified_at: "2026-11-30T09:15:02Z",
    owner: "0358cbc6-2040-430a-848e-aafacbadf3aa",
    subject: "Anruf mit Müller — 東京",
    direction: "INBOUND",
    engagement_type: "0358cbc6-2040-430a-848e-aafacbadf3aa",
    start_time: "2026-11-30T09:00:00Z",
    end_time: "2026-11-30T09:05:00Z",
    account: "025fa1c6-6000-430a-848e-aafacbadf4fe",
    contacts: ["a7c55bc6-2940-c80a-848e-bbfacbfdf4f0"],
    remote_was_deleted: false,
    ...fields,
  };
}

/** A delivery as Merge sends it, with a non-ASCII subject; `event` and `data` can be changed. */
export function delivery(event = "Engagement.added", data: unknown = { id: ENGAGEMENT_ID, subject: "Anruf mit Müller — 東京 ☎", direction: "OUTBOUND" }): string {
  return JSON.stringify({ hook: hook(event), linked_account: LINKED_ACCOUNT, data });
}
