/**
 * The typed events: every type here comes from the spec's `webhooks` section (generated/), none is
 * written by hand. A delivery is parsed into one of them; an event the spec does not model yet is
 * passed on as a `WebhookEvent` (its `data` unknown), never refused: Merge adds events over time.
 */
import type { WebhookEvent, webhooks } from "../index.js";
import { MergeWebhookVerificationError } from "./errors.js";

/** The payload of each event the spec models, by name: `MergeWebhookEvents["Engagement.added"]`. */
export type MergeWebhookEvents = {
  [Name in keyof webhooks]: webhooks[Name]["post"]["requestBody"]["content"]["application/json"];
};

/** The names of the events the spec models: `"Engagement.added" | "Engagement.changed" | ...`. */
export type MergeWebhookEventName = keyof MergeWebhookEvents;

/**
 * What `unwrapMergeWebhook` returns and `onEvent` receives: one of the modelled events (discriminated
 * by `hook.event`), or, for an event the spec does not model, the generic `WebhookEvent`. Narrow it
 * with `isMergeWebhookEvent(event, "Engagement.added")`, which types `data` as an `Engagement`.
 */
export type MergeWebhookEvent = MergeWebhookEvents[MergeWebhookEventName] | WebhookEvent;

/** The modelled events, for the check below; `satisfies` keeps this list and the spec's in step. */
const MODELLED = {
  "Engagement.added": "engagement",
  "Engagement.changed": "engagement",
  "Engagement.removed": "engagement",
  "LinkedAccount.synced": "sync-status",
  "LinkedAccount.fully_synced_initial": "sync-status",
} as const satisfies Record<MergeWebhookEventName, "engagement" | "sync-status">;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isModelled(name: string): name is MergeWebhookEventName {
  return Object.prototype.hasOwnProperty.call(MODELLED, name);
}

/**
 * Whether `event` is the modelled event `name`, narrowing its type (`data` becomes an `Engagement`
 * for the Engagement events, a `SyncStatus` for the sync events).
 * @example
 * if (isMergeWebhookEvent(event, "Engagement.added")) console.log(event.data.subject);
 */
export function isMergeWebhookEvent<Name extends MergeWebhookEventName>(event: MergeWebhookEvent, name: Name): event is MergeWebhookEvents[Name] {
  return event.hook.event === name;
}

function refuse(message: string, pointer: string): never {
  throw new MergeWebhookVerificationError(`The webhook body is signed but is not a Merge webhook delivery: ${message}`, "body", { pointer });
}

/**
 * Checks that a verified body is a delivery: `{ hook: { event }, linked_account: { id }, data }`, with
 * `data` an object for the modelled events (the field-level shape of `data` is Merge's, as signed).
 */
function checkDelivery(value: unknown): asserts value is MergeWebhookEvent {
  if (!isRecord(value)) refuse("the body is not a JSON object", "");
  const { hook, linked_account: account } = value;
  if (!isRecord(hook)) refuse("`hook` is missing or not an object", "/hook");
  if (typeof hook["event"] !== "string" || hook["event"] === "") refuse("`hook.event` is missing or not a string", "/hook/event");
  if (!isRecord(account)) refuse("`linked_account` is missing or not an object", "/linked_account");
  if (typeof account["id"] !== "string") refuse("`linked_account.id` is missing or not a string", "/linked_account/id");
  if (!("data" in value)) refuse("`data` is missing", "/data");
  if (isModelled(hook["event"]) && !isRecord(value["data"])) refuse(`\`data\` of ${hook["event"]} is not an object`, "/data");
}

/** Parses a verified body into an event, or throws `MergeWebhookVerificationError` (reason `"body"`). */
export function parseDelivery(text: string): MergeWebhookEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not chained as a cause: the parser's message quotes the body.
    throw new MergeWebhookVerificationError("The webhook body is signed but is not JSON", "body", { pointer: "" });
  }
  checkDelivery(value);
  return value;
}
