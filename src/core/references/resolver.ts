/**
 * `engagements.resolve`: a draft's references turned into Merge's ids, with as few requests as the
 * API allows. Lookups read Merge's copy of the CRM and count against the linked account's rate limit
 * (and, when they fail, against Merge's global failure limit), so each is cached per linked account,
 * concurrent lookups of one key share one request, contact emails go in batches (`email_addresses`
 * takes several), the engagement types are listed once, and the users too when they fit in one page.
 * Matches are compared here, trimmed and case-insensitively: Merge does not say how its filters
 * compare, and a search may return near misses. Several matches are never a guess.
 */
import type { Logger } from "../logger.js";
import type { EngagementInput } from "../dates.js";
import type { ReferenceIssue, ReferenceKind } from "../errors.js";
import type { CreateOptions, RequestOptions } from "../resources/shared.js";
import type { Account, Contact, ContactRequest, ContactResponse, EngagementType, User } from "../types.js";
import { uuidFromHex } from "../../internal/uuid.js";
import { LookupCache } from "./cache.js";
import type { DraftReferences, MissingContacts, Reference } from "./drafts.js";

/** What a request `resolve` sends is, for `ResolveOptions.around`. */
export interface LookupRequest {
  /** A read of contacts, users, accounts or engagement types, or the create of a missing contact. */
  kind: "lookup" | "create-contact";
  /** The path it goes to: `/crm/v1/contacts`. */
  path: string;
}

/**
 * Runs one request of `resolve`: call `send` once, when the request may go, and return (or throw) what
 * it gives. For layers that pace an account's requests and count its failures.
 */
export type RequestWrapper = <T>(send: () => Promise<T>, request: LookupRequest) => Promise<T>;

/** Options of `engagements.resolve`. */
export interface ResolveOptions {
  /** The linked account's token; overrides the client's `accountToken`. */
  accountToken?: string;
  /** Aborts the lookups; the call then rejects with the standard `AbortError`. */
  signal?: AbortSignal;
  /**
   * A contact named by an email that matches no contact: `"reject"` it (a `MergeReferenceError`),
   * `"omit"` it from `contacts` (with a warning to the client's logger), or `"create"` it with
   * `POST /crm/v1/contacts` (the email trimmed and in lower case, its `first_name` and `last_name` from
   * the reference), under an `Idempotency-Key` derived from the linked account, the email and the
   * names, so that concurrent rows, retries and reruns make one contact.
   * @default "reject"
   */
  missingContacts?: MissingContacts;
  /** How many times each lookup may be retried; overrides the client's `maxRetries`. */
  maxRetries?: number;
  /** The limit of each attempt of each lookup, in milliseconds; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Wraps every request `resolve` sends (see `RequestWrapper`). By default each is sent at once. */
  around?: RequestWrapper;
}

/** The lists and the create the resolver calls: the client's own resources. */
export interface LookupCalls {
  contacts: {
    list(query: { email_addresses?: string[]; remote_id?: string; page_size?: number; cursor?: string }, options: RequestOptions): Promise<Page<Contact>>;
    create(model: ContactRequest, options: CreateOptions): Promise<ContactResponse>;
  };
  users: { list(query: { email?: string; remote_id?: string; page_size?: number; cursor?: string }, options: RequestOptions): Promise<Page<User>> };
  accounts: { list(query: { name?: string; remote_id?: string; page_size?: number; cursor?: string }, options: RequestOptions): Promise<Page<Account>> };
  engagementTypes: { list(query: { page_size?: number; cursor?: string }, options: RequestOptions): Promise<Page<EngagementType>> };
}

interface Page<Item> {
  next?: string | null;
  results?: Item[];
}

/** How long lookups are kept: `ttlMs` for a match, at most `MISS_TTL_MS` for none. */
export interface ReferenceCacheSettings {
  ttlMs: number;
  maxEntries: number;
}

/**
 * A lookup that found nothing is asked again after a minute at most: the object may appear at Merge's
 * next sync, and an app that just created it in the CRM should not wait an hour.
 */
const MISS_TTL_MS = 60_000;
/** Emails in one `email_addresses` lookup: a URL of a few kB, well under what servers accept. */
const EMAILS_PER_LOOKUP = 50;
/** Merge's largest page. */
const PAGE_SIZE = 100;

/** One lookup in progress: who asked first (its token, options and wrapper send the requests). */
interface Asker {
  token: string;
  options: RequestOptions;
  around: RequestWrapper;
}

/** Contact emails waiting to be looked up together, for one linked account. */
interface EmailBatch {
  asker: Asker;
  emails: Map<string, { given: string; found: (ids: string[]) => void; failed: (error: unknown) => void }>;
}

const direct: RequestWrapper = (send) => send();

export interface Resolver {
  /** `model`: the draft with placeholders where `found` has references; the ids replace them. */
  resolve(model: EngagementInput, found: DraftReferences, token: string, options: ResolveOptions): Promise<EngagementInput>;
}

/**
 * What the resolver takes from the rest of the core, given rather than imported: this module is
 * loaded on first use, and a chunk that imports nothing keeps the entry of a split bundle free of it.
 */
export interface ResolverDependencies {
  calls: LookupCalls;
  cache: ReferenceCacheSettings;
  logger: Logger;
  /** How a kind of reference is called in messages. */
  label: (kind: ReferenceKind) => string;
  /** The error of the references that could not be resolved (`MergeReferenceError`). */
  fail: (issues: ReferenceIssue[]) => Error;
}

/** Emails and names compare trimmed and case-insensitively. */
function normalized(text: string): string {
  return text.trim().toLowerCase();
}

export function createResolver({ calls, cache, logger, label, fail }: ResolverDependencies): Resolver {
  const ids = new LookupCache<string[]>(cache.ttlMs, cache.maxEntries, (found) => (found.length === 0 ? MISS_TTL_MS : cache.ttlMs));
  const types = new LookupCache<EngagementType[]>(cache.ttlMs, cache.maxEntries);
  // The whole list of users when it fits in one page (a CRM's reps usually do), else `undefined`.
  const userLists = new LookupCache<User[] | undefined>(cache.ttlMs, cache.maxEntries);
  const createdContacts = new LookupCache<string>(cache.ttlMs, cache.maxEntries);
  const batches = new Map<string, EmailBatch>();

  /**
   * Every page of a list, each request through the asker's wrapper: `list` is given the page's
   * `page_size` and `cursor` to send with its own filters.
   */
  async function collect<Item>(asker: Asker, path: string, list: (page: { page_size: number; cursor?: string }) => Promise<Page<Item>>): Promise<Item[]> {
    const items: Item[] = [];
    let cursor: string | undefined;
    const seen = new Set<string>();
    do {
      const at = cursor === undefined ? { page_size: PAGE_SIZE } : { page_size: PAGE_SIZE, cursor };
      const page = await asker.around(() => list(at), { kind: "lookup", path });
      items.push(...(page.results ?? []));
      cursor = page.next ?? undefined;
      // A cursor given twice would loop forever.
      if (cursor !== undefined && seen.has(cursor)) break;
      if (cursor !== undefined) seen.add(cursor);
    } while (cursor !== undefined && cursor !== "");
    return items;
  }

  const idsOf = (items: readonly { id?: string; remote_was_deleted?: boolean | null }[]): string[] => [
    ...new Set(items.filter((item) => item.remote_was_deleted !== true).flatMap((item) => (typeof item.id === "string" ? [item.id] : []))),
  ];

  function contactIdsByEmail(asker: Asker, email: string): Promise<string[]> {
    const key = normalized(email);
    return ids.get(`${asker.token}\0contact\0email\0${key}`, () => {
      let batch = batches.get(asker.token);
      if (!batch) {
        batch = { asker, emails: new Map() };
        batches.set(asker.token, batch);
        scheduleBatch(batch);
      }
      const pending = batch;
      return new Promise<string[]>((found, failed) => pending.emails.set(key, { given: email.trim(), found, failed }));
    });
  }

  function scheduleBatch(batch: EmailBatch): void {
    setTimeout(() => void sendBatch(batch), 0);
  }

  /** Sends a batch's emails, taken when its request may go: emails asked for meanwhile join it. */
  async function sendBatch(batch: EmailBatch): Promise<void> {
    const { asker } = batch;
    let taken: Map<string, { given: string; found: (ids: string[]) => void; failed: (error: unknown) => void }> | undefined;
    const take = () => {
      if (taken) return taken;
      taken = new Map();
      for (const [key, entry] of batch.emails) {
        if (taken.size >= EMAILS_PER_LOOKUP) break;
        taken.set(key, entry);
        batch.emails.delete(key);
      }
      if (batch.emails.size === 0) {
        if (batches.get(asker.token) === batch) batches.delete(asker.token);
      } else scheduleBatch(batch);
      return taken;
    };
    try {
      const contacts = await collect(asker, "/crm/v1/contacts", (page) => {
        const values = [...take()].flatMap(([key, { given }]) => (given === key ? [key] : [given, key]));
        return calls.contacts.list({ ...page, email_addresses: values }, asker.options);
      });
      for (const [key, { found }] of take()) {
        found(idsOf(contacts.filter((contact) => (contact.email_addresses ?? []).some((entry) => typeof entry.email_address === "string" && normalized(entry.email_address) === key))));
      }
    } catch (error) {
      for (const { failed } of take().values()) failed(error);
    }
  }

  function byRemoteId(asker: Asker, kind: "contacts" | "users" | "accounts", remoteId: string): Promise<string[]> {
    return ids.get(`${asker.token}\0${kind}\0remote_id\0${remoteId}`, async () => {
      const items: { id?: string; remote_id?: string | null; remote_was_deleted?: boolean | null }[] = await collect(asker, `/crm/v1/${kind}`, (page) =>
        calls[kind].list({ ...page, remote_id: remoteId }, asker.options),
      );
      return idsOf(items.filter((item) => item.remote_id === remoteId));
    });
  }

  function userIdsByEmail(asker: Asker, email: string): Promise<string[]> {
    const key = normalized(email);
    const matching = (users: readonly User[]) => idsOf(users.filter((user) => typeof user.email === "string" && normalized(user.email) === key));
    return ids.get(`${asker.token}\0owner\0email\0${key}`, async () => {
      const all = await userLists.get(asker.token, async () => {
        const first = await asker.around(() => calls.users.list({ page_size: PAGE_SIZE }, asker.options), { kind: "lookup", path: "/crm/v1/users" });
        return first.next ? undefined : (first.results ?? []);
      });
      if (all) return matching(all);
      const users = await collect(asker, "/crm/v1/users", (page) => calls.users.list({ ...page, email: email.trim() }, asker.options));
      return matching(users);
    });
  }

  function accountIdsByName(asker: Asker, name: string): Promise<string[]> {
    const key = normalized(name);
    return ids.get(`${asker.token}\0account\0name\0${key}`, async () => {
      const accounts = await collect(asker, "/crm/v1/accounts", (page) => calls.accounts.list({ ...page, name: name.trim() }, asker.options));
      return idsOf(accounts.filter((account) => typeof account.name === "string" && normalized(account.name) === key));
    });
  }

  function engagementTypes(asker: Asker): Promise<EngagementType[]> {
    return types.get(asker.token, () =>
      collect(asker, "/crm/v1/engagement-types", (page) => calls.engagementTypes.list(page, asker.options)),
    );
  }

  async function engagementTypeIds(asker: Asker, by: "activity_type" | "name" | "remote_id", value: string): Promise<string[]> {
    const all = await engagementTypes(asker);
    if (by === "remote_id") return idsOf(all.filter((type) => type.remote_id === value));
    if (by === "name") return idsOf(all.filter((type) => typeof type.name === "string" && normalized(type.name) === normalized(value)));
    const wanted = value.trim().toUpperCase();
    const held = all.filter((type) => typeof type.activity_type === "string" && type.activity_type.toUpperCase() === wanted);
    if (held.length <= 1) return idsOf(held);
    // Several types of one activity (a "Call" and a "Sales call"): the one named like the activity.
    const named = held.filter((type) => typeof type.name === "string" && normalized(type.name) === wanted.toLowerCase());
    return named.length === 1 ? idsOf(named) : idsOf(held);
  }

  /** Creates the contact of a missing email, once per linked account and email. */
  function createContact(asker: Asker, reference: Extract<Reference, { by: "email"; kind: "contact" }>): Promise<string> {
    const key = normalized(reference.value);
    return createdContacts.get(`${asker.token}\0${key}`, async () => {
      // The body depends only on what the key is derived from (Merge refuses one key with two bodies):
      // the email as matched (trimmed, lower case), and the names, which are in the key, so rows that
      // spell the email in other cases make one contact, in any process.
      const model: ContactRequest = { email_addresses: [{ email_address: key }] };
      if (reference.firstName !== undefined) model.first_name = reference.firstName;
      if (reference.lastName !== undefined) model.last_name = reference.lastName;
      const idempotencyKey = await contactKey(asker.token, key, reference.firstName ?? null, reference.lastName ?? null);
      const created = await asker.around(() => calls.contacts.create(model, { ...asker.options, idempotencyKey }), {
        kind: "create-contact",
        path: "/crm/v1/contacts",
      });
      const id = created.model?.id;
      if (typeof id !== "string" || id === "") {
        const why = (created.errors ?? []).map((problem) => problem.detail ?? problem.title).filter(Boolean).join("; ");
        throw fail([
          {
            pointer: reference.pointer,
            message: `no contact has email "${reference.value}", and creating it gave no id${why ? `: ${why}` : ""}`,
            kind: "contact",
            lookedFor: { email: reference.value },
            reason: "not-found",
          },
        ]);
      }
      ids.put(`${asker.token}\0contact\0email\0${key}`, Promise.resolve([id]));
      return id;
    });
  }

  async function idsFor(asker: Asker, reference: Reference): Promise<string[]> {
    if (reference.by === "remote_id") {
      if (reference.kind === "engagement_type") return engagementTypeIds(asker, "remote_id", reference.value);
      return byRemoteId(asker, reference.kind === "contact" ? "contacts" : reference.kind === "owner" ? "users" : "accounts", reference.value);
    }
    if (reference.kind === "contact") return contactIdsByEmail(asker, reference.value);
    if (reference.kind === "owner") return userIdsByEmail(asker, reference.value);
    if (reference.kind === "account") return accountIdsByName(asker, reference.value);
    return engagementTypeIds(asker, reference.by, reference.value);
  }

  /** One reference: its id, `null` to leave it out, or why it cannot be resolved. */
  async function resolveOne(asker: Asker, reference: Reference, missing: MissingContacts): Promise<{ id: string } | { omit: true } | { issue: ReferenceIssue }> {
    const found = await idsFor(asker, reference);
    const lookedFor = { [reference.by]: reference.value };
    const what = `${label(reference.kind)} with ${reference.by} "${reference.value}"`;
    if (found.length === 1 && found[0] !== undefined) return { id: found[0] };
    if (found.length > 1) {
      const message = `${found.length} matches for the ${what}, so none is chosen (${found.join(", ")}); name it by its Merge id instead`;
      return { issue: { pointer: reference.pointer, message, kind: reference.kind, lookedFor, reason: "ambiguous", candidates: found } };
    }
    if (reference.kind === "contact" && reference.by === "email") {
      if (missing === "create") return { id: await createContact(asker, reference) };
      if (missing === "omit") {
        logger.warn?.(`${reference.pointer}: no contact has email "${reference.value}" in this linked account; left out of contacts (missingContacts: "omit")`);
        return { omit: true };
      }
    }
    const hint = reference.kind === "contact" && reference.by === "email" ? ' (missingContacts: "create" creates it, "omit" leaves it out)' : "";
    const message = `no ${what} in this linked account (Merge's synced copy of the CRM)${hint}`;
    return { issue: { pointer: reference.pointer, message, kind: reference.kind, lookedFor, reason: "not-found" } };
  }

  return {
    async resolve(model, { references, problems }, token, options) {
      // Anything that is not a reference (an id, null, a value of the wrong type) stays as it is, for
      // validation to judge; each placeholder is given its id.
      const out: EngagementInput = { ...model };
      const requestOptions: RequestOptions = { accountToken: token };
      if (options.signal) requestOptions.signal = options.signal;
      if (options.maxRetries !== undefined) requestOptions.maxRetries = options.maxRetries;
      if (options.timeoutMs !== undefined) requestOptions.timeoutMs = options.timeoutMs;
      const asker: Asker = { token, options: requestOptions, around: options.around ?? direct };
      const missing = options.missingContacts ?? "reject";
      const outcomes = new Map(
        await Promise.all(references.map(async (reference) => [reference.pointer, await resolveOne(asker, reference, missing)] as const)),
      );
      const issues = [...problems];
      for (const outcome of outcomes.values()) if ("issue" in outcome) issues.push(outcome.issue);
      if (issues.length > 0) throw fail(issues.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0)));
      const idAt = (pointer: string): string | undefined => {
        const outcome = outcomes.get(pointer);
        return outcome && "id" in outcome ? outcome.id : undefined;
      };
      if (Array.isArray(out.contacts)) {
        const given = out.contacts;
        out.contacts = given.flatMap((item, index) => {
          const outcome = outcomes.get(`/model/contacts/${index}`);
          if (outcome === undefined) return [item];
          return "id" in outcome ? [outcome.id] : [];
        });
      }
      for (const field of ["owner", "account", "engagement_type"] as const) {
        const id = idAt(`/model/${field}`);
        if (id !== undefined) out[field] = id;
      }
      return out;
    },
  };
}

/**
 * The `Idempotency-Key` of a missing contact's create: a SHA-256 of the linked account's token, the
 * email and the names it is created with, shaped as a UUID (version 8), so every process that creates
 * it sends the same key with the same body.
 */
async function contactKey(token: string, email: string, firstName: string | null, lastName: string | null): Promise<string> {
  const named = JSON.stringify(["merge-crm-engagements/contact", token, email, firstName, lastName]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(named));
  return uuidFromHex([...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join(""));
}
