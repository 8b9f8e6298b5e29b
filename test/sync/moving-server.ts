/**
 * A local Merge list endpoint whose data moves: the shared fake Merge (test/support/fake-merge.ts)
 * serving `GET /crm/v1/engagements` the way Merge does, with a seeded PRNG so a failing run can be
 * replayed from its seed.
 * - N initial records, uuid ids, created in order; `modified_at` ISO with millisecond precision, in the
 *   past (several records share one instant).
 * - Cursor pages in creation order (the cursor an opaque encoding of the position); `modified_after`
 *   strictly after; `include_deleted_data` (without it deleted records are hidden, with it they come
 *   with `remote_was_deleted: true`); `page_size` clamped to 1..100 (default 100). The filter is applied
 *   when each page is served, so a record changed behind the cursor is not seen again in that walk.
 * - On every request (between the pages it serves) it modifies, deletes and creates records at the
 *   configured rates; a change stamps `modified_at` with its clock's now, sometimes several changes in
 *   the same millisecond. `backdateMs` stamps changes up to that much before now (a change readable only
 *   after it was stamped, what a sync's margin is for).
 * - Its clock lags the test's by `lagMs` (default a minute): `modified_at` and the `Date` header
 *   (an HTTP date, to the second, as a real server sends it) both come from it.
 * - It answers a share of the requests 500 or 429 (with `Retry-After`).
 * - Without `Authorization: Bearer …` and `X-Account-Token` it answers 401.
 * `fast: true` (the bench) turns the moves and the faults off and serves each record's JSON, kept.
 */
import type { Engagement } from "../../src/index.js";
import { FakeMerge, type Arrival, type StatusBehaviour } from "../support/fake-merge.js";
import { seeded } from "../support/seeded.js";

/** Expected changes per request: 1.5 means one, and a second every other request. */
export interface MoveRates {
  modify?: number;
  delete?: number;
  create?: number;
}

export interface MovingServerOptions {
  seed: number;
  /** Initial records. @default 500 */
  records?: number;
  /** How far the server's clock is behind the test's, milliseconds. @default 60000 */
  lagMs?: number;
  /** Changes made on each request. @default { modify: 1, delete: 0.2, create: 0.3 } */
  moves?: MoveRates;
  /** The share of change bursts whose changes all carry one instant. @default 0.3 */
  sameMsRate?: number;
  /** A change is stamped up to this long before the server's now. @default 0 */
  backdateMs?: number;
  /** At most this many changes in all; then the data stands still. @default Infinity */
  maxMoves?: number;
  /** The share of requests answered 500 or 429 (half each). @default 0.05 */
  faultRate?: number;
  /** The `Retry-After` values of the 429s, picked at random. @default ["0", "1"] */
  retryAfter?: string[];
  /** When given, the bearer token must be this (else any non-empty one). */
  apiKey?: string;
  /** When given, `X-Account-Token` must be this (else any non-empty one). */
  accountToken?: string;
  /** No moves, no faults, each record's JSON kept: for the bench. @default false */
  fast?: boolean;
  /** Told of each change as it is made, with the engagement as it stands after it (a copy): what a webhook would carry. */
  onChange?: (change: { kind: "create" | "modify" | "delete"; engagement: Engagement }) => void;
}

export interface RequestEntry {
  /** The test's clock (Date.now()) when it arrived. */
  at: number;
  status: number;
  /** Its query parameters. */
  query: Record<string, string>;
  /** Records served (200 only). */
  results: number;
}

export interface Moves {
  modified: number;
  deleted: number;
  created: number;
}

export interface MovingServer {
  /** `http://127.0.0.1:<port>`: pass it as `baseUrl`. */
  readonly url: string;
  /** The current records that are not deleted, in creation order. */
  live(): Engagement[];
  /** Every record, deleted ones included (as `include_deleted_data=true` serves them). */
  all(): Engagement[];
  /** Requests received, answered or not. */
  readonly requests: number;
  /** Of those, the ones answered 200 with a page. */
  readonly pages: number;
  /** Every request, in order. */
  readonly log: readonly RequestEntry[];
  /** The changes made so far. */
  readonly moves: Moves;
  /** The server's clock (the test's less the lag), milliseconds. */
  now(): number;
  /** Changes a number of records now (a burst, outside any request): for tests that change data on purpose. */
  change(counts: MoveRates): void;
  /** The data stops changing (faults go on unless `faults(0)`). */
  freeze(): void;
  /** Changes the share of requests answered 500 or 429. */
  faults(rate: number): void;
  close(): Promise<void>;
}

interface Rec {
  engagement: Engagement;
  /** `modified_at` in milliseconds. */
  modifiedMs: number;
  deleted: boolean;
  /** Its JSON, kept until it changes. */
  json: string | undefined;
  version: number;
}

const PATH = "/crm/v1/engagements";
const MAX_PAGE = 100;
const DAY = 86_400_000;

/** A uuid v4 from the seeded generator (randomUUID is not seeded). */
function uuidFrom(rand: () => number): string {
  let hex = "";
  for (let i = 0; i < 32; i++) hex += Math.floor(rand() * 16).toString(16);
  const variant = ((parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Cursors are opaque to clients: base64url of the direction and the position in creation order. */
function encodeCursor(direction: "n" | "p", position: number): string {
  return Buffer.from(`${direction}:${position}:${(position * 2654435761) >>> 0}`).toString("base64url");
}

function decodeCursor(cursor: string): { direction: "n" | "p"; position: number } | undefined {
  const match = /^([np]):(\d+):(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) return undefined;
  const position = Number(match[2]);
  if (!Number.isSafeInteger(position) || String((position * 2654435761) >>> 0) !== match[3]) return undefined;
  return { direction: match[1] as "n" | "p", position };
}

export async function startMovingServer(options: MovingServerOptions): Promise<MovingServer> {
  const fast = options.fast ?? false;
  const rand = seeded(options.seed);
  const lagMs = options.lagMs ?? 60_000;
  const rates: Required<MoveRates> = { modify: 1, delete: 0.2, create: 0.3, ...options.moves };
  const sameMsRate = options.sameMsRate ?? 0.3;
  const backdateMs = options.backdateMs ?? 0;
  const maxMoves = options.maxMoves ?? Infinity;
  let faultRate = fast ? 0 : (options.faultRate ?? 0.05);
  const retryAfter = options.retryAfter ?? ["0", "1"];
  const now = () => Date.now() - lagMs;

  const records: Rec[] = [];
  const moves: Moves = { modified: 0, deleted: 0, created: 0 };
  const log: RequestEntry[] = [];
  let pages = 0;
  let frozen = fast;
  const owners = Array.from({ length: 8 }, () => uuidFrom(rand));
  const accounts = Array.from({ length: 20 }, () => uuidFrom(rand));

  function newRecord(createdMs: number, modifiedMs: number): Rec {
    const n = records.length;
    const engagement: Engagement = {
      id: uuidFrom(rand),
      remote_id: `remote-${n}`,
      created_at: new Date(createdMs).toISOString(),
      modified_at: new Date(modifiedMs).toISOString(),
      owner: owners[n % owners.length] ?? null,
      content: `Notes of engagement ${n}: the customer asked about the renewal.`,
      subject: `Engagement ${n}`,
      direction: n % 2 === 0 ? "INBOUND" : "OUTBOUND",
      engagement_type: null,
      start_time: new Date(createdMs).toISOString(),
      end_time: new Date(createdMs + 30 * 60_000).toISOString(),
      account: accounts[n % accounts.length] ?? null,
      contacts: [],
      remote_was_deleted: false,
      field_mappings: { organization_defined_targets: {}, linked_account_defined_targets: {} },
      remote_data: null,
    };
    const rec: Rec = { engagement, modifiedMs, deleted: false, json: undefined, version: 0 };
    records.push(rec);
    return rec;
  }

  // The initial records: created over the last 90 days in order, last modified between their creation
  // and an hour ago, several sharing an instant (a CRM's bulk update, a sync run stamping a batch).
  const total = options.records ?? 500;
  const start = now() - 90 * DAY;
  const step = (89 * DAY) / Math.max(1, total);
  let shared = 0;
  for (let i = 0; i < total; i++) {
    const created = Math.floor(start + i * step);
    const modified = shared > 0 && records.length > 0 ? (records[records.length - 1]?.modifiedMs ?? created) : created + Math.floor(rand() * Math.min(step * 20, now() - 3_600_000 - created));
    if (shared > 0) shared--;
    else if (rand() < 0.1) shared = 1 + Math.floor(rand() * 4);
    newRecord(created, Math.max(created, modified));
  }
  if (fast) for (const rec of records) rec.json = JSON.stringify(rec.engagement);

  const liveIndexes = (): number[] => {
    const out: number[] = [];
    for (let i = 0; i < records.length; i++) if (!records[i]?.deleted) out.push(i);
    return out;
  };
  const spent = () => moves.modified + moves.deleted + moves.created;
  const countOf = (rate: number) => Math.floor(rate) + (rand() < rate - Math.floor(rate) ? 1 : 0);

  /** One burst of changes: counts of each kind, in random order, each at now (or one shared instant). */
  function burst(counts: Required<MoveRates>, force = false): void {
    if (frozen && !force) return;
    const kinds: ("modify" | "delete" | "create")[] = [];
    for (const kind of ["modify", "delete", "create"] as const) for (let k = countOf(counts[kind]); k > 0; k--) kinds.push(kind);
    if (kinds.length === 0) return;
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j] as (typeof kinds)[number], kinds[i] as (typeof kinds)[number]];
    }
    const instant = rand() < sameMsRate ? now() : undefined;
    const stamp = () => (instant ?? now()) - Math.floor(rand() * backdateMs);
    let live: number[] | undefined;
    for (const kind of kinds) {
      if (spent() >= maxMoves && !force) return;
      if (kind === "create") {
        const at = stamp();
        const created = newRecord(at, at);
        moves.created++;
        options.onChange?.({ kind: "create", engagement: { ...created.engagement } });
        live = undefined;
        continue;
      }
      live ??= liveIndexes();
      if (live.length === 0) continue;
      const pick = Math.floor(rand() * live.length);
      const rec = records[live[pick] ?? 0];
      if (!rec) continue;
      const at = stamp();
      rec.modifiedMs = at;
      rec.version++;
      rec.json = undefined;
      rec.engagement = { ...rec.engagement, modified_at: new Date(at).toISOString() };
      if (kind === "delete") {
        rec.deleted = true;
        rec.engagement.remote_was_deleted = true;
        live.splice(pick, 1);
        moves.deleted++;
      } else {
        rec.engagement.subject = `${String(rec.engagement.subject).replace(/ \(v\d+\)$/, "")} (v${rec.version})`;
        moves.modified++;
      }
      options.onChange?.({ kind, engagement: { ...rec.engagement } });
    }
  }

  function send(status: number, body: string, headers: Record<string, string> = {}): StatusBehaviour {
    // The lagging clock, to the second. Set by hand: node's own Date header is this machine's clock.
    return { status, body, headers: { date: new Date(now()).toUTCString(), ...headers } };
  }

  function handle(request: Arrival): StatusBehaviour | undefined {
    const url = new URL(request.url, "http://localhost");
    // The linked account's details (its id, what a mirror keys rows by): the shared fake's answer.
    if (url.pathname === "/crm/v1/account-details") return undefined;
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const entry: RequestEntry = { at: Date.now(), status: 0, query, results: 0 };
    log.push(entry);
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      entry.status = status;
      return send(status, typeof body === "string" ? body : JSON.stringify(body), headers);
    };

    if (url.pathname !== PATH && url.pathname !== `${PATH}/`) return answer(404, { detail: "Not found." });
    if (request.method !== "GET") return answer(405, { detail: `Method "${request.method}" not allowed.` });
    const auth = /^Bearer (\S+)$/.exec(String(request.headers["authorization"] ?? ""));
    const token = request.headers["x-account-token"];
    if (!auth || (options.apiKey !== undefined && auth[1] !== options.apiKey)) return answer(401, { detail: "Invalid API key." });
    if (typeof token !== "string" || token === "" || (options.accountToken !== undefined && token !== options.accountToken)) {
      return answer(401, { detail: "Missing or invalid X-Account-Token." });
    }

    // Between the pages it serves, the account changes (a failed request is a moment like another).
    burst(rates);

    if (faultRate > 0 && rand() < faultRate) {
      if (rand() < 0.5) return answer(500, { detail: "Internal server error." });
      return answer(429, { detail: "Request was throttled." }, { "retry-after": retryAfter[Math.floor(rand() * retryAfter.length)] ?? "0" });
    }

    let afterMs = -Infinity;
    if (query["modified_after"] !== undefined) {
      afterMs = Date.parse(query["modified_after"]);
      if (Number.isNaN(afterMs)) return answer(400, { modified_after: ["Enter a valid date/time."] });
    }
    const includeDeleted = query["include_deleted_data"] === "true";
    let pageSize = MAX_PAGE;
    if (query["page_size"] !== undefined) {
      const asked = Number(query["page_size"]);
      if (!Number.isInteger(asked)) return answer(400, { page_size: ["A valid integer is required."] });
      pageSize = Math.min(MAX_PAGE, Math.max(1, asked));
    }
    let direction: "n" | "p" = "n";
    let position = 0;
    if (query["cursor"] !== undefined) {
      const decoded = decodeCursor(query["cursor"]);
      if (!decoded) return answer(400, { detail: "Invalid cursor" });
      ({ direction, position } = decoded);
    }
    const matches = (rec: Rec) => (includeDeleted || !rec.deleted) && rec.modifiedMs > afterMs;

    // The page: `pageSize` matches from the position, then a look for one more (is there a next page?).
    const served: number[] = [];
    let more = false;
    if (direction === "n") {
      for (let i = position; i < records.length; i++) {
        const rec = records[i] as Rec;
        if (!matches(rec)) continue;
        if (served.length === pageSize) {
          more = true;
          break;
        }
        served.push(i);
      }
    } else {
      for (let i = Math.min(position, records.length) - 1; i >= 0; i--) {
        const rec = records[i] as Rec;
        if (!matches(rec)) continue;
        if (served.length === pageSize) {
          more = true;
          break;
        }
        served.unshift(i);
      }
    }
    const first = served[0];
    const last = served[served.length - 1];
    let next: string | null = null;
    let previous: string | null = null;
    if (direction === "n") {
      next = more && last !== undefined ? encodeCursor("n", last + 1) : null;
      previous = position > 0 && first !== undefined ? encodeCursor("p", first) : null;
    } else {
      next = last !== undefined ? encodeCursor("n", last + 1) : null;
      previous = more && first !== undefined ? encodeCursor("p", first) : null;
    }
    const parts: string[] = [];
    for (const i of served) {
      const rec = records[i] as Rec;
      rec.json ??= JSON.stringify(rec.engagement);
      parts.push(rec.json);
    }
    pages++;
    entry.results = served.length;
    return answer(200, `{"next":${JSON.stringify(next)},"previous":${JSON.stringify(previous)},"results":[${parts.join(",")}]}`);
  }

  const server = new FakeMerge({ keepAliveTimeoutMs: 60_000 });
  server.answer = handle;
  await server.start();

  return {
    url: server.url,
    live: () => records.filter((rec) => !rec.deleted).map((rec) => ({ ...rec.engagement })),
    all: () => records.map((rec) => ({ ...rec.engagement })),
    get requests() {
      return log.length;
    },
    get pages() {
      return pages;
    },
    log,
    moves,
    now,
    change: (counts) => burst({ modify: 0, delete: 0, create: 0, ...counts }, true),
    freeze: () => void (frozen = true),
    faults: (rate) => void (faultRate = rate),
    close: () => server.stop(),
  };
}
