/**
 * The one local Merge that tests and benches run against: a real node:http server on a free loopback
 * port. It stores writes by Idempotency-Key as Merge does (the same key with the same body replays the
 * stored answer, with another body is answered 400) and answers a read with the linked account's
 * meta/post (`meta`, `metaFor`) or an empty page. Each linked account can have a `directory` of contacts,
 * users, accounts and engagement types that Merge's lookups (GET /crm/v1/{contacts,users,accounts,
 * engagement-types}, filtered and paged, and `/{id}`) answer from; POST /crm/v1/contacts creates a contact
 * (idempotent like an engagement write, stored apart from them) that lookups find `contactsVisibleAfterMs` later.
 * GET /crm/v1/account-details answers the token's linked account, its `id` from `accountIds` or else
 * derived from the token (`accountIdOf`): the same token always gets the same id.
 *
 * What a request meets, first found: the next behaviour of the script (`reset`), then `answer` (every
 * request, before its body is read; `undefined` passes), then for a write `decide` ("store", or a status
 * with Retry-After), else Merge's answer to a read. Behaviours cover the faults a network and a server
 * have (resets before and after the write, a hang, a slow answer, a truncated or non-JSON body).
 * `latencyMs` delays every answer, `delay(status)` a write's and `readLatencyMs` a GET's. Every request is
 * logged in `arrivals` with its time, account token, Idempotency-Key, body and the status answered;
 * `lookups()` and `contactCreates()` pick the lookups and the contact creates.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenOnLoopback, type Loopback } from "./loopback.js";

export type Behaviour =
  | "ok" // store (or replay) a write and answer 201; a read as Merge does
  | StatusBehaviour // answer without storing
  | "store-then-500" // store, then answer 500
  | "reset-before-body" // destroy the connection before reading the request body
  | "reset-after-store" // read the body, store, then destroy the connection
  | "hang" // read the body and never answer
  | { slowMs: number; store: boolean } // wait, then store and answer 201 (the store may happen first)
  | "truncated" // store, send the headers and half of the JSON body, then close
  | "invalid-json"; // store, answer 201 with a complete body that is not JSON

/** An answer with this status (and, when given, Retry-After, body, headers), after `afterMs` when given. */
export interface StatusBehaviour {
  status: number;
  retryAfter?: string;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  afterMs?: number;
}

/** What `decide` may answer a write: store it, or refuse it with a status. */
export type Decision = "store" | { status: number; retryAfter?: string };
/** `url`: the path and query of the write (POST /crm/v1/engagements, or /crm/v1/contacts for a contact create). */
export type Decide = (request: { account: string; key: string | undefined; body: string; at: number; url: string }) => Decision;

export interface Arrival {
  /** `performance.now()` when it arrived. */
  at: number;
  method: string;
  /** The path and query, as sent. */
  url: string;
  /** Its X-Account-Token ("" without). */
  account: string;
  /** Its Idempotency-Key. */
  idempotencyKey: string | undefined;
  headers: IncomingHttpHeaders;
  /** The body as sent ("" until read). */
  body: string;
  /** The status answered (0 while unanswered, or when the connection was destroyed). */
  status: number;
  /** For a write stored or replayed, the engagement's id. */
  createdId?: string;
  /** For a contact create stored or replayed, the contact's id (never in `createdId`). */
  createdContactId?: string;
}

/** A contact as Merge returns it (plain JSON; the fields the lookups filter on are typed). */
export interface DirectoryContact {
  id: string;
  remote_id?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  /** An Account id (or, expanded, the account). */
  account?: string | { id: string } | null;
  email_addresses?: { email_address: string; email_address_type?: string | null; [field: string]: unknown }[];
  phone_numbers?: { phone_number: string; phone_number_type?: string | null; [field: string]: unknown }[];
  [field: string]: unknown;
}

export interface DirectoryUser {
  id: string;
  remote_id?: string | null;
  name?: string | null;
  email?: string | null;
  [field: string]: unknown;
}

export interface DirectoryAccount {
  id: string;
  remote_id?: string | null;
  name?: string | null;
  [field: string]: unknown;
}

export interface DirectoryEngagementType {
  id: string;
  remote_id?: string | null;
  /** `CALL` | `MEETING` | `EMAIL`, or another. */
  activity_type?: string | null;
  name?: string | null;
  [field: string]: unknown;
}

/** What Merge's synced copy of one linked account's CRM holds, as the lookups see it. */
export interface Directory {
  contacts: DirectoryContact[];
  users: DirectoryUser[];
  accounts: DirectoryAccount[];
  engagementTypes: DirectoryEngagementType[];
}

interface Stored {
  body: string;
  response: string;
  account: string;
  id: string;
}

export interface FakeMergeOptions {
  /** Node's keep-alive timeout of the server, milliseconds. @default 5000 (Node's) */
  keepAliveTimeoutMs?: number;
  /** The listen backlog (many clients connecting at once). @default 511 (Node's) */
  backlog?: number;
  /** Connections accepted at once. @default unlimited */
  maxConnections?: number;
  /** The initial (and after `reset`) `contactsVisibleAfterMs`. @default 0 */
  contactsVisibleAfterMs?: number;
}

export class FakeMerge {
  readonly arrivals: Arrival[] = [];
  /** Stored writes by Idempotency-Key: one per engagement written. */
  readonly stored = new Map<string, Stored>();
  /** Stored contact creates by Idempotency-Key (a made-up key when sent without): one per contact created. */
  readonly storedContacts = new Map<string, Stored>();
  /** Each linked account's (X-Account-Token's) directory, which the lookups answer from; see `setDirectory`. */
  readonly directory = new Map<string, Directory>();
  /** The linked account's id GET /crm/v1/account-details answers for a token, when set (else `accountIdOf(token)`). */
  readonly accountIds = new Map<string, string>();
  /** Milliseconds between a contact's create and the lookups finding it (Merge's sync). */
  contactsVisibleAfterMs: number;
  /** What each write meets once the script ran out and `answer` passed. */
  decide: Decide = () => "store";
  /** What every request meets once the script ran out, before its body is read; `undefined` passes. */
  answer: ((arrival: Arrival) => Behaviour | undefined) | undefined;
  /** The answer to GET meta/post (the linked account's request_schema), when set. */
  meta: unknown;
  /** The answer to GET meta/post for one account (its token), when set and not `undefined`: beats `meta`. */
  metaFor: ((account: string) => unknown) | undefined;
  /** Delay before answering, in milliseconds. */
  latencyMs = 0;
  /** Delay before answering a write given its status, when set (else `latencyMs`). */
  delay: ((status: number) => number) | undefined;
  /** Delay before answering a GET (a lookup, meta, any read), when set (else `latencyMs`). */
  readLatencyMs: number | undefined;
  /** Writes arrived and not yet answered, and the most at once. */
  inFlight = 0;
  peakInFlight = 0;
  url = "";
  private script: Behaviour[] = [];
  /** Contacts created and not yet visible to lookups. */
  private pendingContacts: { account: string; contact: DirectoryContact; visibleAt: number }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private loopback: Loopback | undefined;

  constructor(private readonly options: FakeMergeOptions = {}) {
    this.server = createServer((request, response) => void this.handle(request, response));
    if (options.keepAliveTimeoutMs !== undefined) this.server.keepAliveTimeout = options.keepAliveTimeoutMs;
    if (options.maxConnections !== undefined) this.server.maxConnections = options.maxConnections;
    this.contactsVisibleAfterMs = options.contactsVisibleAfterMs ?? 0;
  }

  async start(): Promise<void> {
    this.loopback = await listenOnLoopback(this.server, this.options.backlog);
    this.url = this.loopback.url;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.loopback?.stop();
  }

  /**
   * Forgets every arrival, write and setting; the next requests meet `script`, in order, then what
   * `fallback` picks for each by its URL and linked account (its X-Account-Token), when given.
   */
  reset(script: Behaviour[] = [], fallback?: (url: string, account: string) => Behaviour): void {
    this.script = [...script];
    this.answer = fallback && ((arrival) => fallback(arrival.url, arrival.account));
    this.decide = () => "store";
    this.latencyMs = 0;
    this.delay = undefined;
    this.readLatencyMs = undefined;
    this.contactsVisibleAfterMs = this.options.contactsVisibleAfterMs ?? 0;
    this.inFlight = 0;
    this.peakInFlight = 0;
    this.meta = undefined;
    this.metaFor = undefined;
    this.arrivals.length = 0;
    this.stored.clear();
    this.storedContacts.clear();
    this.directory.clear();
    this.accountIds.clear();
    this.pendingContacts = [];
  }

  /**
   * Sets an account's (a token's) directory: the lists given, the others empty. Returns it, to push to later.
   */
  setDirectory(account: string, entries: Partial<Directory> = {}): Directory {
    const directory: Directory = {
      contacts: [...(entries.contacts ?? [])],
      users: [...(entries.users ?? [])],
      accounts: [...(entries.accounts ?? [])],
      engagementTypes: [...(entries.engagementTypes ?? [])],
    };
    this.directory.set(account, directory);
    return directory;
  }

  /** GETs that arrived on the four lookup paths (a list or an `/{id}`), for one account (all without one). */
  lookups(account?: string): Arrival[] {
    return this.arrivals.filter((a) => a.method === "GET" && lookupOf(a.url) !== undefined && (account === undefined || a.account === account));
  }

  /** POSTs that arrived on /crm/v1/contacts, for one account (all without one). */
  contactCreates(account?: string): Arrival[] {
    return this.arrivals.filter((a) => a.method === "POST" && isContactCreate(a.url) && (account === undefined || a.account === account));
  }

  /** Milliseconds between consecutive arrivals: the client's waits (plus the failed attempt's time). */
  gaps(): number[] {
    return this.arrivals.slice(1).map((a, i) => a.at - (this.arrivals[i]?.at ?? a.at));
  }

  /** Engagements written for an account (its token): one per Idempotency-Key stored, a replay writes nothing. */
  storedFor(account: string): number {
    let n = 0;
    for (const stored of this.stored.values()) if (stored.account === account) n++;
    return n;
  }

  /** POSTs that arrived for one account (all accounts without one). */
  posts(account?: string): Arrival[] {
    return this.arrivals.filter((a) => a.method === "POST" && (account === undefined || a.account === account));
  }

  private later(run: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const header = request.headers["idempotency-key"];
    const key = typeof header === "string" ? header : undefined;
    const arrival: Arrival = {
      at: performance.now(),
      method: request.method ?? "",
      url: request.url ?? "",
      account: String(request.headers["x-account-token"] ?? ""),
      idempotencyKey: key,
      headers: request.headers,
      body: "",
      status: 0,
    };
    this.arrivals.push(arrival);
    const scripted = this.script.shift() ?? this.answer?.(arrival);
    if (scripted === "reset-before-body") {
      request.socket.destroy();
      return;
    }
    arrival.body = await readBody(request);
    const write = arrival.method === "POST";
    const behaviour = scripted ?? (write ? asBehaviour(this.decide({ account: arrival.account, key, body: arrival.body, at: arrival.at, url: arrival.url })) : "ok");
    const send = (answer: Answer): void => {
      arrival.status = answer.status;
      response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      response.end(answer.text);
    };

    if (behaviour === "ok" || (typeof behaviour === "object" && "status" in behaviour)) {
      const answer = behaviour === "ok" ? this.store(arrival) : statusAnswer(behaviour);
      arrival.status = answer.status;
      if (write) this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
      const wait =
        behaviour !== "ok" && behaviour.afterMs !== undefined
          ? behaviour.afterMs
          : write && this.delay
            ? this.delay(answer.status)
            : arrival.method === "GET" && this.readLatencyMs !== undefined
              ? this.readLatencyMs
              : this.latencyMs;
      const answerNow = () => {
        if (write) this.inFlight--;
        if (!response.destroyed) send(answer);
      };
      if (wait > 0) this.later(answerNow, wait);
      else answerNow();
      return;
    }
    if (behaviour === "store-then-500") {
      this.store(arrival);
      return send({ status: 500, text: JSON.stringify({ detail: "Internal error after the write." }) });
    }
    if (behaviour === "reset-after-store") {
      this.store(arrival);
      request.socket.destroy();
      return;
    }
    if (behaviour === "hang") return;
    if (behaviour === "truncated") {
      const { status, text } = this.store(arrival);
      arrival.status = status;
      response.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
      response.write(text.slice(0, Math.floor(text.length / 2)));
      this.later(() => request.socket.destroy(), 20);
      return;
    }
    if (behaviour === "invalid-json") {
      this.store(arrival);
      return send({ status: 201, text: '{"model": {"id": "550e8400-e29b-41d4' });
    }
    const early = behaviour.store ? this.store(arrival) : undefined;
    this.later(() => {
      if (!response.destroyed) send(early ?? this.store(arrival));
    }, behaviour.slowMs);
  }

  /** Merge's answer: a write stored (or replayed, or refused for another body under its key); a read's page or meta. */
  private store(arrival: Arrival): Answer {
    const lookup = arrival.method === "GET" ? lookupOf(arrival.url) : undefined;
    if (lookup) return this.lookup(arrival, lookup);
    if (arrival.method === "POST" && isContactCreate(arrival.url)) return this.createContact(arrival);
    if (arrival.method === "GET" && arrival.url.split("?")[0] === "/crm/v1/account-details") return this.accountDetails(arrival);
    if (arrival.method === "GET") {
      const meta = this.metaFor?.(arrival.account) ?? this.meta;
      const isMeta = arrival.url.split("?")[0] === "/crm/v1/engagements/meta/post";
      return { status: 200, text: JSON.stringify(isMeta && meta !== undefined ? meta : { next: null, previous: null, results: [] }) };
    }
    if (arrival.method !== "POST") return { status: 200, text: JSON.stringify(engagementResponse(randomUUID(), arrival.body)) };
    const existing = arrival.idempotencyKey === undefined ? undefined : this.stored.get(arrival.idempotencyKey);
    if (existing && existing.body !== arrival.body) return { status: 400, text: JSON.stringify({ detail: "Idempotency-Key was used with another body." }) };
    if (existing) {
      arrival.createdId = existing.id;
      return { status: 201, text: existing.response };
    }
    const id = randomUUID();
    const text = JSON.stringify(engagementResponse(id, arrival.body));
    this.stored.set(arrival.idempotencyKey ?? randomUUID(), { body: arrival.body, response: text, account: arrival.account, id });
    arrival.createdId = id;
    return { status: 201, text };
  }

  /** A lookup's answer from the account's directory: a filtered page, or one object (404 when absent). */
  private lookup(arrival: Arrival, { kind, id }: Lookup): Answer {
    this.settleContacts();
    const directory = this.directory.get(arrival.account);
    const all: { id: string; remote_id?: string | null }[] = directory?.[kind] ?? [];
    if (id !== undefined) {
      const found = all.find((o) => o.id === id);
      return found ? { status: 200, text: JSON.stringify(found) } : { status: 404, text: JSON.stringify({ detail: "Not found." }) };
    }
    const query = new URL(arrival.url, "http://merge").searchParams;
    const pageSize = query.get("page_size") ?? "100";
    const size = /^\d+$/.test(pageSize) ? Math.min(Number(pageSize), 100) : 0;
    if (size < 1) return { status: 400, text: JSON.stringify({ detail: `Invalid page_size: ${pageSize}.` }) };
    const cursor = query.get("cursor");
    const start = cursor === null || cursor === "" ? 0 : offsetOf(cursor);
    if (start === undefined) return { status: 400, text: JSON.stringify({ detail: "Invalid cursor." }) };
    const matches = all.filter(filterOf(kind, query));
    const results = matches.slice(start, start + size);
    const page = {
      next: start + size < matches.length ? cursorOf(start + size) : null,
      previous: start > 0 ? cursorOf(Math.max(0, start - size)) : null,
      results,
    };
    return { status: 200, text: JSON.stringify(page) };
  }

  /** The token's linked account, as Merge describes it; nothing in it is derived from the token but the id. */
  private accountDetails(arrival: Arrival): Answer {
    const id = this.accountIds.get(arrival.account) ?? accountIdOf(arrival.account);
    const details = {
      id,
      integration: "HubSpot",
      integration_slug: "hubspot",
      category: "crm",
      end_user_origin_id: `end-user-${id.slice(0, 8)}`,
      end_user_organization_name: "Acme Corp",
      end_user_email_address: "admin@acme.example",
      status: "COMPLETE",
      webhook_listener_url: `https://api.merge.dev/api/integrations/webhook-listener/${id.slice(0, 8)}`,
      is_duplicate: false,
      account_type: "TEST",
      completed_at: "2026-01-05T10:00:00Z",
    };
    return { status: 200, text: JSON.stringify(details) };
  }

  /** A contact create stored (or replayed, or refused for another body under its key), as Merge answers it. */
  private createContact(arrival: Arrival): Answer {
    const existing = arrival.idempotencyKey === undefined ? undefined : this.storedContacts.get(arrival.idempotencyKey);
    if (existing && existing.body !== arrival.body) return { status: 400, text: JSON.stringify({ detail: "Idempotency-Key was used with another body." }) };
    if (existing) {
      arrival.createdContactId = existing.id;
      return { status: 201, text: existing.response };
    }
    const written = contactRequestOf(arrival.body);
    if (!written) return { status: 400, text: JSON.stringify({ detail: "The body must be a JSON object with a `model` object." }) };
    const id = randomUUID();
    const contact = contactOf(id, written);
    const text = JSON.stringify({ model: contact, warnings: [], errors: [], logs: [] });
    this.storedContacts.set(arrival.idempotencyKey ?? randomUUID(), { body: arrival.body, response: text, account: arrival.account, id });
    this.pendingContacts.push({ account: arrival.account, contact, visibleAt: performance.now() + this.contactsVisibleAfterMs });
    this.settleContacts();
    arrival.createdContactId = id;
    return { status: 201, text };
  }

  /** Moves the contacts created whose sync time came into their account's directory (made when missing). */
  private settleContacts(): void {
    if (this.pendingContacts.length === 0) return;
    const now = performance.now();
    const waiting: typeof this.pendingContacts = [];
    for (const pending of this.pendingContacts) {
      if (pending.visibleAt > now) {
        waiting.push(pending);
        continue;
      }
      const directory = this.directory.get(pending.account) ?? this.setDirectory(pending.account);
      directory.contacts.push(pending.contact);
    }
    this.pendingContacts = waiting;
  }
}

/**
 * The fake's linked account id for a token: the first 16 bytes of its SHA-256 as a UUID (version 8, RFC
 * 9562's name-based layout for other hashes), so that it is stable across runs and reveals no token.
 */
export function accountIdOf(token: string): string {
  const bytes = createHash("sha256").update(token).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

type LookupKind = keyof Directory;
interface Lookup {
  kind: LookupKind;
  /** The `/{id}` asked for; `undefined` for the list. */
  id: string | undefined;
}

const LOOKUP_PATHS: Record<string, LookupKind> = { contacts: "contacts", users: "users", accounts: "accounts", "engagement-types": "engagementTypes" };

/** The lookup a URL asks for: GET /crm/v1/{contacts,users,accounts,engagement-types}[/{id}] (not meta or remote-field-classes). */
function lookupOf(url: string): Lookup | undefined {
  const match = /^\/crm\/v1\/(contacts|users|accounts|engagement-types)(?:\/([^/]+))?\/?$/.exec(url.split("?")[0] ?? "");
  if (!match) return undefined;
  const kind = LOOKUP_PATHS[match[1] ?? ""];
  const id = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  if (kind === undefined || id === "remote-field-classes" || id === "meta") return undefined;
  return { kind, id };
}

function isContactCreate(url: string): boolean {
  return /^\/crm\/v1\/contacts\/?$/.test(url.split("?")[0] ?? "");
}

/** An opaque cursor for a position in the filtered list (filters are sent again with it, as Merge asks). */
function cursorOf(offset: number): string {
  return Buffer.from(`fake-merge:${offset}`).toString("base64url");
}

function offsetOf(cursor: string): number | undefined {
  const match = /^fake-merge:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return match ? Number(match[1]) : undefined;
}

/** The values of a filter: a comma-separated list, trimmed, empties dropped; none when absent or empty (Merge then ignores it). */
function valuesOf(query: URLSearchParams, name: string, split: boolean): string[] {
  const value = query.get(name);
  if (value === null) return [];
  return (split ? value.split(",") : [value]).map((v) => v.trim()).filter((v) => v !== "");
}

const lower = (value: unknown): string => (typeof value === "string" ? value.trim().toLowerCase() : "");

/** The filters of one lookup: every filter given must hold. `account` names (`name`) are matched loosely: contains, any case. */
function filterOf(kind: LookupKind, query: URLSearchParams): (o: Record<string, unknown>) => boolean {
  const checks: ((o: Record<string, unknown>) => boolean)[] = [];
  const [remoteId] = valuesOf(query, "remote_id", false);
  if (remoteId !== undefined) checks.push((o) => o["remote_id"] === remoteId);
  if (kind === "contacts") {
    const emails = valuesOf(query, "email_addresses", true).map((e) => e.toLowerCase());
    if (emails.length > 0) checks.push((o) => ((o as DirectoryContact).email_addresses ?? []).some((e) => emails.includes(lower(e.email_address))));
    const phones = valuesOf(query, "phone_numbers", true);
    if (phones.length > 0) checks.push((o) => ((o as DirectoryContact).phone_numbers ?? []).some((p) => phones.includes(p.phone_number)));
    const [accountId] = valuesOf(query, "account_id", false);
    if (accountId !== undefined) {
      checks.push((o) => {
        const account = (o as DirectoryContact).account;
        return (typeof account === "string" ? account : account?.id) === accountId;
      });
    }
  }
  if (kind === "users") {
    const [email] = valuesOf(query, "email", false);
    if (email !== undefined) checks.push((o) => lower(o["email"]) === email.toLowerCase());
  }
  if (kind === "accounts") {
    const [name] = valuesOf(query, "name", false);
    if (name !== undefined) checks.push((o) => lower(o["name"]).includes(name.toLowerCase()));
  }
  return (o) => checks.every((check) => check(o));
}

/** The `model` of a contact create's body, when the body is a JSON object with one. */
function contactRequestOf(body: string): Record<string, unknown> | undefined {
  try {
    const model = (JSON.parse(body) as { model?: unknown } | null)?.model;
    return typeof model === "object" && model !== null && !Array.isArray(model) ? (model as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The contact Merge answers for a create: the fields written (not the write-only ones), a new id, the CRM's remote id. */
function contactOf(id: string, written: Record<string, unknown>): DirectoryContact {
  const now = new Date().toISOString();
  const { integration_params: _i, linked_account_params: _l, remote_fields: _r, ...fields } = written;
  const emails = Array.isArray(written["email_addresses"]) ? (written["email_addresses"] as Record<string, unknown>[]) : [];
  const phones = Array.isArray(written["phone_numbers"]) ? (written["phone_numbers"] as Record<string, unknown>[]) : [];
  return {
    first_name: null,
    last_name: null,
    account: null,
    owner: null,
    addresses: [],
    last_activity_at: null,
    ...fields,
    id,
    remote_id: `crm-${randomUUID()}`,
    created_at: now,
    modified_at: now,
    email_addresses: emails.map((e) => ({ email_address_type: null, ...e, email_address: String(e["email_address"] ?? ""), created_at: now, modified_at: now })),
    phone_numbers: phones.map((p) => ({ phone_number_type: null, ...p, phone_number: String(p["phone_number"] ?? ""), created_at: now, modified_at: now })),
    remote_was_deleted: false,
    field_mappings: null,
    remote_data: null,
  };
}

interface Answer {
  status: number;
  text: string;
  headers?: Record<string, string>;
}

function asBehaviour(decision: Decision): "ok" | StatusBehaviour {
  return decision === "store" ? "ok" : decision;
}

function statusAnswer(behaviour: StatusBehaviour): Answer {
  const headers: Record<string, string> = { ...behaviour.headers };
  if (behaviour.contentType !== undefined) headers["content-type"] = behaviour.contentType;
  if (behaviour.retryAfter !== undefined) headers["retry-after"] = behaviour.retryAfter;
  return { status: behaviour.status, text: behaviour.body ?? JSON.stringify({ detail: `status ${behaviour.status}` }), headers };
}

/** A spec-valid 201 body, echoing the subject and direction written as Merge does. */
function engagementResponse(id: string, body: string) {
  const model: Record<string, unknown> = { id };
  try {
    const written = (JSON.parse(body) as { model?: { subject?: unknown; direction?: unknown } }).model;
    if (typeof written?.subject === "string") model["subject"] = written.subject;
    if (typeof written?.direction === "string") model["direction"] = written.direction;
  } catch {
    // Not JSON (a fault test's body): the engagement has its id only.
  }
  return { model, warnings: [], errors: [] };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * One server for a test file, started before its tests and reset before each, with a fresh temporary
 * folder per test (`dir()`), removed after it.
 */
export function useFakeMerge(prefix: string): { server: FakeMerge; dir: () => string } {
  const server = new FakeMerge();
  let current = "";
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.reset();
    current = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(current, { recursive: true, force: true }));
  return { server, dir: () => current };
}

/**
 * A per-account limit: a request is answered 429 (`Retry-After: 1`) when its account already had 110%
 * of a sixth of `perMinute` in the last 10 s (the smoothness the importer promises), or, unless `burst`
 * is false, twice the per-second rate in the last second (a burst). Only requests let through count.
 */
export function perAccountLimit(perMinute: number, { burst = true }: { burst?: boolean } = {}): (account: string, at: number) => boolean {
  const per10s = Math.floor((perMinute / 6) * 1.1);
  const perSecond = burst ? Math.ceil((perMinute / 60) * 2) : Infinity;
  const recent = new Map<string, number[]>();
  return (account, at) => {
    const times = recent.get(account) ?? [];
    while (times.length > 0 && (times[0] ?? 0) <= at - 10_000) times.shift();
    recent.set(account, times);
    let lastSecond = 0;
    for (let i = times.length - 1; i >= 0 && (times[i] ?? 0) > at - 1_000; i--) lastSecond++;
    if (times.length >= per10s || lastSecond >= perSecond) return false;
    times.push(at);
    return true;
  };
}

/** The most values in any window of `windowMs` (values sorted). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/**
 * A linked account's meta/post whose schema requires `subject` and allows only OUTBOUND calls: rows
 * the spec accepts and this CRM refuses, by pointer (`/model/subject`, `/model/direction`).
 */
export const OUTBOUND_ONLY_META = {
  request_schema: {
    type: "object",
    properties: { model: { type: "object", properties: { subject: { type: "string" }, direction: { type: "string", enum: ["OUTBOUND"] } }, required: ["subject"] } },
    required: ["model"],
  },
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: false,
};
