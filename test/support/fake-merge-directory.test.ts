/**
 * The fake Merge's directory: the lookups (filters, pages, `/{id}`), the contact create (idempotent, kept
 * apart from the engagements written, found by lookups once synced), the read latency and the counters,
 * and that what the fake did before is unchanged.
 */
import { FakeMerge, type DirectoryContact } from "./fake-merge.js";

const server = new FakeMerge();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => server.reset());

const TOKEN = "acct_a";

async function call(method: string, path: string, { account = TOKEN, body, key }: { account?: string; body?: unknown; key?: string } = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: "Bearer test",
      "x-account-token": account,
      ...(body !== undefined && { "content-type": "application/json" }),
      ...(key !== undefined && { "idempotency-key": key }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

const get = (path: string, account?: string) => call("GET", path, account === undefined ? {} : { account });
const ids = (page: { results: { id: string }[] }) => page.results.map((r) => r.id);

function contact(id: string, emails: string[], extra: Partial<DirectoryContact> = {}): DirectoryContact {
  return { id, remote_id: `r-${id}`, first_name: id, last_name: null, email_addresses: emails.map((email_address) => ({ email_address, email_address_type: "WORK" })), ...extra };
}

describe("lookups", () => {
  beforeEach(() => {
    server.setDirectory(TOKEN, {
      contacts: [
        contact("c1", ["Ada@Example.com", "ada.home@example.org"], { account: "a1", phone_numbers: [{ phone_number: "+15550001", phone_number_type: "MOBILE" }] }),
        contact("c2", ["bob@example.com"], { account: { id: "a2" } }),
        contact("c3", [], { phone_numbers: [{ phone_number: "+15550003" }] }),
      ],
      users: [
        { id: "u1", remote_id: "ru1", name: "Owner One", email: "Owner@Example.com" },
        { id: "u2", remote_id: "ru2", name: "Owner Two", email: "two@example.com" },
      ],
      accounts: [
        { id: "a1", remote_id: "ra1", name: "Acme" },
        { id: "a2", remote_id: "ra2", name: "Acme Holdings" },
        { id: "a3", remote_id: "ra3", name: "Globex" },
      ],
      engagementTypes: [
        { id: "t1", remote_id: "rt1", activity_type: "CALL", name: "Call" },
        { id: "t2", remote_id: "rt2", activity_type: "MEETING", name: "Meeting" },
      ],
    });
  });

  test("contacts: email_addresses (comma-separated, trimmed, any case, any of the contact's), remote_id, phone_numbers, account_id", async () => {
    expect(ids((await get("/crm/v1/contacts?email_addresses=ada%40example.com")).json)).toEqual(["c1"]);
    expect(ids((await get("/crm/v1/contacts?email_addresses=%20ADA.HOME%40example.org%20")).json)).toEqual(["c1"]);
    expect(ids((await get(`/crm/v1/contacts?email_addresses=${encodeURIComponent("nobody@x.com, Bob@example.com")}`)).json)).toEqual(["c2"]);
    expect(ids((await get(`/crm/v1/contacts?email_addresses=${encodeURIComponent("ada@example.com,bob@example.com")}`)).json)).toEqual(["c1", "c2"]);
    expect(ids((await get("/crm/v1/contacts?email_addresses=ada")).json)).toEqual([]); // equal, not contains
    expect(ids((await get("/crm/v1/contacts?remote_id=r-c3")).json)).toEqual(["c3"]);
    expect(ids((await get("/crm/v1/contacts?remote_id=R-C3")).json)).toEqual([]); // exact
    expect(ids((await get(`/crm/v1/contacts?phone_numbers=${encodeURIComponent("+15550003,+15550001")}`)).json)).toEqual(["c1", "c3"]);
    expect(ids((await get("/crm/v1/contacts?account_id=a1")).json)).toEqual(["c1"]);
    expect(ids((await get("/crm/v1/contacts?account_id=a2")).json)).toEqual(["c2"]); // an expanded account
    expect(ids((await get("/crm/v1/contacts?account_id=a1&email_addresses=bob%40example.com")).json)).toEqual([]); // every filter holds
    expect(ids((await get("/crm/v1/contacts?email_addresses=&include_remote_data=true&expand=account")).json)).toEqual(["c1", "c2", "c3"]); // empty and unknown ignored
  });

  test("users: email (any case, equal), remote_id", async () => {
    expect(ids((await get("/crm/v1/users?email=owner%40example.COM")).json)).toEqual(["u1"]);
    expect(ids((await get("/crm/v1/users?email=owner")).json)).toEqual([]);
    expect(ids((await get("/crm/v1/users?remote_id=ru2")).json)).toEqual(["u2"]);
    expect(ids((await get("/crm/v1/users")).json)).toEqual(["u1", "u2"]);
  });

  test("accounts: name is loose (contains, any case), so the client must compare; remote_id", async () => {
    expect(ids((await get("/crm/v1/accounts?name=Acme")).json)).toEqual(["a1", "a2"]);
    expect(ids((await get("/crm/v1/accounts?name=acme%20holdings")).json)).toEqual(["a2"]);
    expect(ids((await get("/crm/v1/accounts?name=lobe")).json)).toEqual(["a3"]);
    expect(ids((await get("/crm/v1/accounts?remote_id=ra1")).json)).toEqual(["a1"]);
  });

  test("engagement types: all, or by remote_id", async () => {
    expect((await get("/crm/v1/engagement-types")).json).toEqual({ next: null, previous: null, results: [{ id: "t1", remote_id: "rt1", activity_type: "CALL", name: "Call" }, { id: "t2", remote_id: "rt2", activity_type: "MEETING", name: "Meeting" }] });
    expect(ids((await get("/crm/v1/engagement-types?remote_id=rt2")).json)).toEqual(["t2"]);
  });

  test("/{id}: the object, or 404 Not found (another account's id too)", async () => {
    expect(await get("/crm/v1/contacts/c2")).toEqual({ status: 200, json: expect.objectContaining({ id: "c2", remote_id: "r-c2" }) });
    expect(await get("/crm/v1/users/u1?include_remote_data=true")).toEqual({ status: 200, json: expect.objectContaining({ id: "u1", email: "Owner@Example.com" }) });
    expect(await get("/crm/v1/accounts/a3")).toEqual({ status: 200, json: { id: "a3", remote_id: "ra3", name: "Globex" } });
    expect(await get("/crm/v1/engagement-types/t1")).toEqual({ status: 200, json: expect.objectContaining({ activity_type: "CALL" }) });
    for (const path of ["/crm/v1/contacts/nope", "/crm/v1/users/nope", "/crm/v1/accounts/nope", "/crm/v1/engagement-types/nope"]) {
      expect(await get(path)).toEqual({ status: 404, json: { detail: "Not found." } });
    }
    expect(await get("/crm/v1/accounts/a1", "acct_other")).toEqual({ status: 404, json: { detail: "Not found." } });
  });

  test("an account without a directory gets empty pages", async () => {
    for (const path of ["/crm/v1/contacts?email_addresses=ada%40example.com", "/crm/v1/users", "/crm/v1/accounts?name=Acme", "/crm/v1/engagement-types"]) {
      expect(await get(path, "acct_other")).toEqual({ status: 200, json: { next: null, previous: null, results: [] } });
    }
  });
});

describe("pages", () => {
  const many = Array.from({ length: 250 }, (_, i) => ({ id: `a${i}`, remote_id: `r${i}`, name: i % 2 === 0 ? `Even ${i}` : `Odd ${i}` }));
  beforeEach(() => server.setDirectory(TOKEN, { accounts: many }));

  async function walk(query: string): Promise<{ ids: string[]; pages: number; sizes: number[] }> {
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const { status, json }: { status: number; json: any } = await get(`/crm/v1/accounts?${query}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(status).toBe(200);
      seen.push(...ids(json));
      sizes.push(json.results.length);
      cursor = json.next;
    } while (cursor !== null);
    return { ids: seen, pages: sizes.length, sizes };
  }

  test("page_size defaults to 100, at most 100; the walk by `next` sees each object once", async () => {
    const all = await walk("");
    expect(all.sizes).toEqual([100, 100, 50]);
    expect(all.ids).toEqual(many.map((a) => a.id));
    expect((await walk("page_size=500")).sizes).toEqual([100, 100, 50]);
    const small = await walk("page_size=30&name=even");
    expect(small.sizes).toEqual([30, 30, 30, 30, 5]);
    expect(small.ids).toEqual(many.filter((a) => a.name.startsWith("Even")).map((a) => a.id));
  });

  test("`previous` leads back; the cursor is opaque; a bad cursor or page_size is answered 400", async () => {
    const first = (await get("/crm/v1/accounts?page_size=10")).json;
    expect(first.previous).toBeNull();
    expect(typeof first.next).toBe("string");
    expect(first.next).not.toMatch(/^\d+$/);
    const second = (await get(`/crm/v1/accounts?page_size=10&cursor=${encodeURIComponent(first.next)}`)).json;
    expect(ids(second)).toEqual(many.slice(10, 20).map((a) => a.id));
    const back = (await get(`/crm/v1/accounts?page_size=10&cursor=${encodeURIComponent(second.previous)}`)).json;
    expect(ids(back)).toEqual(ids(first));
    expect((await get("/crm/v1/accounts?cursor=garbage")).status).toBe(400);
    expect((await get("/crm/v1/accounts?page_size=0")).status).toBe(400);
    expect((await get("/crm/v1/accounts?page_size=ten")).status).toBe(400);
  });
});

describe("POST /crm/v1/contacts", () => {
  const body = { model: { first_name: "Grace", last_name: "Hopper", email_addresses: [{ email_address: "grace@example.com", email_address_type: "WORK" }], integration_params: { x: 1 } } };

  test("answers 201 with a new contact that later lookups find; kept apart from the engagements written", async () => {
    server.setDirectory(TOKEN, { users: [{ id: "u1", email: "o@example.com" }] });
    const created = await call("POST", "/crm/v1/contacts", { body, key: "k1" });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ model: expect.objectContaining({ first_name: "Grace", last_name: "Hopper", email_addresses: [expect.objectContaining({ email_address: "grace@example.com", email_address_type: "WORK" })] }), warnings: [], errors: [], logs: [] });
    const id: string = created.json.model.id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.json.model).not.toHaveProperty("integration_params");
    expect(ids((await get("/crm/v1/contacts?email_addresses=GRACE%40example.com")).json)).toEqual([id]);
    expect((await get(`/crm/v1/contacts/${id}`)).json).toEqual(created.json.model);
    expect(server.directory.get(TOKEN)?.users).toHaveLength(1); // the rest of the directory kept

    // An engagement write beside it: the engagement helpers see that one only.
    expect((await call("POST", "/crm/v1/engagements", { body: { model: { subject: "s" } }, key: "e1" })).status).toBe(201);
    expect(server.stored.size).toBe(1);
    expect(server.storedFor(TOKEN)).toBe(1);
    expect(server.storedContacts.size).toBe(1);
    expect(server.arrivals.filter((a) => a.createdId !== undefined)).toHaveLength(1);
    expect(server.contactCreates().map((a) => a.createdContactId)).toEqual([id]);
    expect(server.contactCreates("acct_other")).toEqual([]);
  });

  test("an account without a directory gets one for the contact created", async () => {
    const created = await call("POST", "/crm/v1/contacts", { body, account: "acct_new" });
    expect(ids((await get("/crm/v1/contacts", "acct_new")).json)).toEqual([created.json.model.id]);
    expect(ids((await get("/crm/v1/contacts")).json)).toEqual([]);
  });

  test("the same Idempotency-Key and body replays the answer (one contact); another body is answered 400", async () => {
    const first = await call("POST", "/crm/v1/contacts", { body, key: "k1" });
    const again = await call("POST", "/crm/v1/contacts", { body, key: "k1" });
    expect(again).toEqual(first);
    const other = await call("POST", "/crm/v1/contacts", { body: { model: { first_name: "Other" } }, key: "k1" });
    expect(other.status).toBe(400);
    expect(server.storedContacts.size).toBe(1);
    expect((await get("/crm/v1/contacts")).json.results).toHaveLength(1);
    // Without a key every POST creates; a contact key and an engagement key do not collide.
    await call("POST", "/crm/v1/contacts", { body });
    await call("POST", "/crm/v1/contacts", { body });
    expect((await call("POST", "/crm/v1/engagements", { body: { model: {} }, key: "k1" })).status).toBe(201);
    expect((await get("/crm/v1/contacts")).json.results).toHaveLength(3);
    expect(server.contactCreates().map((a) => a.status)).toEqual([201, 201, 400, 201, 201]);
  });

  test("a body that is not a JSON object with a model is answered 400 and stores nothing", async () => {
    expect((await call("POST", "/crm/v1/contacts", { body: { first_name: "x" } })).status).toBe(400);
    expect((await call("POST", "/crm/v1/contacts", { body: "just a string" })).status).toBe(400);
    expect(server.storedContacts.size).toBe(0);
  });

  test("contactsVisibleAfterMs: lookups miss the contact until Merge's sync", async () => {
    server.contactsVisibleAfterMs = 300;
    const created = await call("POST", "/crm/v1/contacts", { body });
    expect((await get("/crm/v1/contacts?email_addresses=grace%40example.com")).json.results).toEqual([]);
    expect((await get(`/crm/v1/contacts/${created.json.model.id}`)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(ids((await get("/crm/v1/contacts?email_addresses=grace%40example.com")).json)).toEqual([created.json.model.id]);
  });

  test("the write hooks apply: decide (given the url), the script, delay(status); reset forgets it all", async () => {
    const seen: string[] = [];
    server.decide = ({ url }) => {
      seen.push(url);
      return url.startsWith("/crm/v1/contacts") ? { status: 429, retryAfter: "1" } : "store";
    };
    expect((await call("POST", "/crm/v1/contacts?run_async=false", { body })).status).toBe(429);
    expect(seen).toEqual(["/crm/v1/contacts?run_async=false"]);
    expect(server.storedContacts.size).toBe(0);

    server.decide = () => "store";
    const statuses: number[] = [];
    server.delay = (status) => {
      statuses.push(status);
      return status === 201 ? 200 : 0;
    };
    const started = performance.now();
    expect((await call("POST", "/crm/v1/contacts", { body })).status).toBe(201);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(statuses).toEqual([201]);

    server.reset(["store-then-500"]);
    server.setDirectory(TOKEN);
    expect((await call("POST", "/crm/v1/contacts", { body, key: "k2" })).status).toBe(500);
    const replay = await call("POST", "/crm/v1/contacts", { body, key: "k2" });
    expect(replay.status).toBe(201);
    expect(ids((await get("/crm/v1/contacts")).json)).toEqual([replay.json.model.id]); // stored once, before the 500

    server.reset();
    expect(server.directory.size).toBe(0);
    expect(server.storedContacts.size).toBe(0);
    expect(server.readLatencyMs).toBeUndefined();
    expect(server.contactsVisibleAfterMs).toBe(0);
  });
});

describe("latency and counting", () => {
  /** Sends both at once: which answer came first, and each one's time. */
  async function race(read: string, write: string) {
    const started = performance.now();
    const order: string[] = [];
    const ms: Record<string, number> = {};
    const timed = (name: string, sent: Promise<unknown>) =>
      sent.then(() => {
        order.push(name);
        ms[name] = performance.now() - started;
      });
    await Promise.all([timed("read", get(read)), timed("write", call("POST", write, { body: { model: {} } }))]);
    return { order, ms };
  }

  test("readLatencyMs delays GETs only (lookups and meta); writes keep delay(status)", async () => {
    server.setDirectory(TOKEN, { users: [{ id: "u1", email: "o@example.com" }] });
    server.readLatencyMs = 200;
    server.delay = () => 600; // a bench's slow writes and quick lookups
    const lookup = await race("/crm/v1/users?email=o%40example.com", "/crm/v1/engagements");
    expect(lookup.order).toEqual(["read", "write"]);
    expect(lookup.ms["read"]).toBeGreaterThanOrEqual(190);
    expect(lookup.ms["write"]).toBeGreaterThanOrEqual(590);
    const meta = await race("/crm/v1/engagements/meta/post", "/crm/v1/contacts");
    expect(meta.order).toEqual(["read", "write"]);
    expect(meta.ms["read"]).toBeGreaterThanOrEqual(190);
  });

  test("readLatencyMs beats latencyMs for a GET; latencyMs still delays the writes without delay()", async () => {
    server.latencyMs = 400;
    server.readLatencyMs = 0;
    const { order, ms } = await race("/crm/v1/contacts", "/crm/v1/engagements");
    expect(order).toEqual(["read", "write"]);
    expect(ms["write"]).toBeGreaterThanOrEqual(390);
    server.readLatencyMs = undefined; // unset: latencyMs again
    expect((await race("/crm/v1/contacts", "/crm/v1/engagements")).ms["read"]).toBeGreaterThanOrEqual(390);
  });

  test("lookups(account?) counts the GETs on the four lookup paths; contactCreates(account?) the contact POSTs", async () => {
    await get("/crm/v1/contacts?email_addresses=a%40b.c");
    await get("/crm/v1/users/u1");
    await get("/crm/v1/accounts", "acct_b");
    await get("/crm/v1/engagement-types");
    await get("/crm/v1/engagements"); // not a lookup
    await get("/crm/v1/contacts/meta/post"); // not a lookup
    await get("/crm/v1/contacts/remote-field-classes"); // not a lookup
    await call("POST", "/crm/v1/contacts", { body: { model: {} }, account: "acct_b" });
    await call("POST", "/crm/v1/engagements", { body: { model: {} } });
    expect(server.lookups().map((a) => a.url)).toEqual(["/crm/v1/contacts?email_addresses=a%40b.c", "/crm/v1/users/u1", "/crm/v1/accounts", "/crm/v1/engagement-types"]);
    expect(server.lookups("acct_b").map((a) => a.url)).toEqual(["/crm/v1/accounts"]);
    expect(server.contactCreates().map((a) => a.account)).toEqual(["acct_b"]);
    expect(server.contactCreates(TOKEN)).toEqual([]);
    expect(server.posts()).toHaveLength(2); // posts() is every POST, as before
  });
});

describe("what the fake did before holds", () => {
  test("reads the directory does not own answer as before: an empty page, meta/post", async () => {
    server.setDirectory(TOKEN, { contacts: [contact("c1", ["a@b.c"])] });
    server.meta = { request_schema: {} };
    expect(await get("/crm/v1/engagements")).toEqual({ status: 200, json: { next: null, previous: null, results: [] } });
    expect(await get("/crm/v1/engagements/meta/post")).toEqual({ status: 200, json: { request_schema: {} } });
    expect(await get("/crm/v1/contacts/meta/post")).toEqual({ status: 200, json: { next: null, previous: null, results: [] } });
    expect(await get("/crm/v1/engagements/remote-field-classes")).toEqual({ status: 200, json: { next: null, previous: null, results: [] } });
  });

  test("engagement writes: stored by key, replayed, 400 for another body, PATCH echoes", async () => {
    const first = await call("POST", "/crm/v1/engagements", { body: { model: { subject: "Hi", direction: "OUTBOUND" } }, key: "k" });
    expect(first).toEqual({ status: 201, json: { model: { id: expect.any(String), subject: "Hi", direction: "OUTBOUND" }, warnings: [], errors: [] } });
    expect(await call("POST", "/crm/v1/engagements", { body: { model: { subject: "Hi", direction: "OUTBOUND" } }, key: "k" })).toEqual(first);
    expect((await call("POST", "/crm/v1/engagements", { body: { model: { subject: "Other" } }, key: "k" })).status).toBe(400);
    expect(server.storedFor(TOKEN)).toBe(1);
    expect(server.posts(TOKEN).map((a) => a.createdId)).toEqual([first.json.model.id, first.json.model.id, undefined]);
    expect((await call("PATCH", "/crm/v1/engagements/x", { body: { model: { subject: "P" } } })).json).toEqual({ model: { id: expect.any(String), subject: "P" }, warnings: [], errors: [] });
  });

  test("the script and answer still meet lookups first", async () => {
    server.setDirectory(TOKEN, { users: [{ id: "u1" }] });
    server.reset([{ status: 503 }]);
    server.setDirectory(TOKEN, { users: [{ id: "u1" }] });
    server.answer = (arrival) => (arrival.url.startsWith("/crm/v1/accounts") ? { status: 429, retryAfter: "2" } : undefined);
    expect((await get("/crm/v1/users/u1")).status).toBe(503);
    expect((await get("/crm/v1/users/u1")).status).toBe(200);
    const limited = await fetch(`${server.url}/crm/v1/accounts`, { headers: { "x-account-token": TOKEN } });
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "2"]);
    await limited.text();
    expect(server.lookups().map((a) => a.status)).toEqual([503, 200, 429]);
  });
});
