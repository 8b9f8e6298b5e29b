/**
 * A draft: a create whose contacts, owner, account and engagement type may be named by what the app
 * knows (an email, a name, the CRM's own id, "it was a call") instead of Merge's ids. This module reads
 * those references out of a draft, checks their shape, and names each by its JSON pointer.
 */
import type { EngagementInput } from "../dates.js";
import type { ReferenceIssue, ReferenceKind } from "../errors.js";

/** A contact named by one of its email addresses (and, for `missingContacts: "create"`, its name), or by the CRM's id. */
export type ContactReference = { email: string; first_name?: string | null; last_name?: string | null } | { remote_id: string };
/** The owner (a CRM user) named by email or by the CRM's id. */
export type OwnerReference = { email: string } | { remote_id: string };
/** The account (a company) named by its name or by the CRM's id. */
export type AccountReference = { name: string } | { remote_id: string };
/** The kinds of activity Merge names; CRMs may have others. */
export type ActivityType = "CALL" | "MEETING" | "EMAIL";
/** The engagement type named by its kind of activity, its name, or the CRM's id. */
export type EngagementTypeReference = { activity_type: ActivityType | (string & {}) } | { name: string } | { remote_id: string };

type ContactId = NonNullable<EngagementInput["contacts"]>[number];

/**
 * The fields of a create, where `contacts`, `owner`, `account` and `engagement_type` may also name
 * their objects by reference. `engagements.resolve` turns it into the create's body.
 * @example
 * const draft: EngagementDraft = {
 *   subject: "Call with Ada", direction: "OUTBOUND",
 *   contacts: [{ email: "ada@example.com" }], owner: { email: "rep@example.com" },
 *   account: { name: "Acme Inc" }, engagement_type: { activity_type: "CALL" },
 * };
 */
export type EngagementDraft = Omit<EngagementInput, "contacts" | "owner" | "account" | "engagement_type"> & {
  contacts?: (ContactId | ContactReference)[];
  owner?: EngagementInput["owner"] | OwnerReference;
  account?: EngagementInput["account"] | AccountReference;
  engagement_type?: EngagementInput["engagement_type"] | EngagementTypeReference;
};

/** What to do with a contact named by an email that matches no contact. */
export type MissingContacts = "reject" | "omit" | "create";

/** Whether a value is one of `missingContacts`' values (`"reject"`, `"omit"`, `"create"`): narrows it to `MissingContacts`. */
export function isMissingContacts(value: unknown): value is MissingContacts {
  return value === "reject" || value === "omit" || value === "create";
}

/** One reference of a draft, read and checked: where it is, and what names it. */
export type Reference =
  | { pointer: string; kind: "contact"; by: "email"; value: string; firstName?: string | null; lastName?: string | null }
  | { pointer: string; kind: ReferenceKind; by: "remote_id"; value: string }
  | { pointer: string; kind: "owner"; by: "email"; value: string }
  | { pointer: string; kind: "account"; by: "name"; value: string }
  | { pointer: string; kind: "engagement_type"; by: "activity_type" | "name"; value: string };

/** The keys each kind of reference may be named by, besides `remote_id`. */
const NAMED_BY: Record<ReferenceKind, readonly string[]> = {
  contact: ["email"],
  owner: ["email"],
  account: ["name"],
  engagement_type: ["activity_type", "name"],
};
/** Keys a contact reference may carry besides the one that names it (used only when it is created). */
const CONTACT_EXTRAS = ["first_name", "last_name"];

/** The references in a draft, and the problems of those that are malformed. */
export interface DraftReferences {
  references: Reference[];
  problems: ReferenceIssue[];
}

/**
 * Whether a draft names nothing by reference (no object where Merge wants an id), so that it is the
 * create's body as it is and `engagements.resolve` has nothing to look up.
 * @example
 * const model = isResolved(draft) ? draft : await merge.engagements.resolve(draft);
 */
export function isResolved(draft: EngagementDraft): draft is EngagementDraft & EngagementInput {
  if (typeof draft !== "object" || draft === null) return true;
  const { contacts, owner, account, engagement_type } = draft;
  if (Array.isArray(contacts)) for (const item of contacts) if (isRecord(item)) return false;
  return !isRecord(owner) && !isRecord(account) && !isRecord(engagement_type);
}

/** Reads the references of a draft; strings (ids) and `null` are left as they are. */
export function readReferences(draft: Record<string, unknown>): DraftReferences {
  const out: DraftReferences = { references: [], problems: [] };
  const contacts = draft["contacts"];
  if (Array.isArray(contacts)) {
    contacts.forEach((item: unknown, index) => {
      if (isRecord(item)) readOne(out, "contact", `/model/contacts/${index}`, item);
    });
  }
  for (const kind of ["owner", "account", "engagement_type"] as const) {
    const value = draft[kind];
    if (isRecord(value)) readOne(out, kind, `/model/${kind}`, value);
  }
  return out;
}

function readOne(out: DraftReferences, kind: ReferenceKind, pointer: string, value: Record<string, unknown>): void {
  const names = [...NAMED_BY[kind], "remote_id"];
  const given = names.filter((name) => value[name] !== undefined);
  const allowed = kind === "contact" ? [...names, ...CONTACT_EXTRAS] : names;
  const unknown = Object.keys(value).filter((name) => !allowed.includes(name));
  const expected = names.map((name) => `{ ${name} }`).join(", ");
  const invalid = (message: string): void => {
    out.problems.push({ pointer, message, kind, lookedFor: { ...value }, reason: "invalid" });
  };
  if (unknown.length > 0) return invalid(`names ${unknown.map((name) => `"${name}"`).join(", ")}, which is not a way to name a ${label(kind)}: use a Merge id or one of ${expected}`);
  if (given.length !== 1) return invalid(`must name the ${label(kind)} one way: a Merge id or one of ${expected}`);
  const by = given[0] ?? "";
  const text = value[by];
  if (typeof text !== "string" || text.trim() === "") return invalid(`"${by}" must be a non-empty string`);
  if (kind === "contact" && by === "email") {
    const reference: Reference = { pointer, kind, by, value: text };
    for (const extra of ["first_name", "last_name"] as const) {
      const name = value[extra];
      if (name === undefined) continue;
      if (name !== null && typeof name !== "string") return invalid(`"${extra}" must be a string or null`);
      if (extra === "first_name") reference.firstName = name;
      else reference.lastName = name;
    }
    out.references.push(reference);
    return;
  }
  if (kind === "contact" && Object.keys(value).some((name) => CONTACT_EXTRAS.includes(name))) {
    return invalid('"first_name" and "last_name" go with "email" only (they name a contact to create)');
  }
  if (by === "remote_id") out.references.push({ pointer, kind, by, value: text });
  else if (kind === "owner" && by === "email") out.references.push({ pointer, kind, by, value: text });
  else if (kind === "account" && by === "name") out.references.push({ pointer, kind, by, value: text });
  else if (kind === "engagement_type" && (by === "activity_type" || by === "name")) out.references.push({ pointer, kind, by, value: text });
}

/** How a kind of reference is called in messages. */
export function label(kind: ReferenceKind): string {
  return kind === "engagement_type" ? "engagement type" : kind;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** What stands for a reference when a draft is checked against the spec before its lookups. */
const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";

/**
 * A draft with each reference replaced by a placeholder id: what the spec can check before lookups
 * (the references' own shape is `readReferences`'s to check).
 */
export function withPlaceholders(draft: EngagementDraft): EngagementInput {
  const { contacts, owner, account, engagement_type, ...rest } = draft;
  const out: EngagementInput = rest;
  const id = (value: string | object | null): string | null => (typeof value === "object" && value !== null ? PLACEHOLDER_ID : value);
  if (contacts !== undefined) out.contacts = Array.isArray(contacts) ? contacts.map((item) => (typeof item === "string" ? item : PLACEHOLDER_ID)) : contacts;
  if (owner !== undefined) out.owner = id(owner);
  if (account !== undefined) out.account = id(account);
  if (engagement_type !== undefined) out.engagement_type = id(engagement_type);
  return out;
}
