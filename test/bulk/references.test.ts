/**
 * `bulkCreate` with rows that name their contacts, owner, account and engagement type by reference:
 * resolved before the write (ids sent), a row whose reference matches nothing or several is rejected
 * by pointer and never sent, `missingContacts` per run, lookups cached and batched over the run, paced
 * with the account's rate and counted by the failure guard like writes, and nothing lost on a rerun.
 */
import { join } from "node:path";
import { bulkCreate, readJournal, type BulkRow, type BulkRowResult } from "../../src/bulk/index.js";
import { createMergeCrmClient, type Logger } from "../../src/index.js";
import { maxInWindow, useFakeMerge, type Directory } from "../support/fake-merge.js";

const { server, dir } = useFakeMerge("bulk-references-");

const A = "acct_bulk_references_a";
const B = "acct_bulk_references_b";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const quiet: Logger = {};
const fast = { ratePerMinute: 60_000 } as const;

function directory(offset: number): Partial<Directory> {
  const mail = (email_address: string) => [{ email_address, email_address_type: "WORK" }];
  return {
    contacts: [
      { id: id(offset + 1), remote_id: "c-ada", first_name: "Ada", email_addresses: mail("Ada@Example.com") },
      { id: id(offset + 2), remote_id: "c-grace", first_name: "Grace", email_addresses: [...mail("grace@example.com"), ...mail("g.hopper@example.org")] },
      { id: id(offset + 3), first_name: "Front", email_addresses: mail("info@example.com") },
      { id: id(offset + 4), first_name: "Sales", email_addresses: mail("info@example.com") },
    ],
    users: [{ id: id(offset + 11), remote_id: "u-rep", name: "Rep", email: "rep@example.com" }],
    accounts: [
      { id: id(offset + 21), name: "Acme Inc" },
      { id: id(offset + 22), name: "Globex" },
      { id: id(offset + 23), name: "Globex" },
    ],
    engagementTypes: [
      { id: id(offset + 31), activity_type: "CALL", name: "Call" },
      { id: id(offset + 32), activity_type: "CALL", name: "Cold call" },
      { id: id(offset + 33), activity_type: "MEETING", name: "Meeting" },
    ],
  };
}

beforeEach(() => {
  server.setDirectory(A, directory(0));
  server.setDirectory(B, directory(100));
});

function client() {
  return createMergeCrmClient({ apiKey: "sk_bulk_references", baseUrl: server.url, logger: quiet });
}

function collect() {
  const results: BulkRowResult[] = [];
  return { results, onResult: (result: BulkRowResult) => results.push(result) };
}

const writes = () => server.arrivals.filter((a) => a.method === "POST" && a.url.startsWith("/crm/v1/engagements"));
const sentModels = () => writes().map((a) => JSON.parse(a.body).model);

test("rows name references in their model: each is sent with the ids of its own linked account; rows whose reference fails are rejected by pointer and never sent", async () => {
  const rows: BulkRow[] = [
    { key: "ok-a", accountToken: A, model: { subject: "a", contacts: [{ email: "ada@example.COM" }, { email: "G.Hopper@example.org" }], owner: { email: "rep@example.com" }, account: { name: "acme inc" }, engagement_type: { activity_type: "CALL" } } },
    { key: "ok-b", accountToken: B, model: { subject: "b", contacts: [{ remote_id: "c-ada" }], owner: { remote_id: "u-rep" }, engagement_type: { name: "Meeting" } } },
    { key: "ids", accountToken: A, model: { subject: "ids", contacts: [id(1)], owner: id(11) } },
    { key: "ambiguous", accountToken: A, model: { subject: "x", contacts: [{ email: "info@example.com" }], account: { name: "Globex" } } },
    { key: "missing", accountToken: A, model: { subject: "y", contacts: [{ email: "ada@example.com" }, { email: "nobody@example.com" }] } },
    { key: "malformed", accountToken: A, model: { subject: "z", owner: { email: "rep@example.com", remote_id: "u-rep" } } },
  ];
  const { results, onResult } = collect();
  const summary = await bulkCreate(client(), rows, { ...fast, journal: join(dir(), "refs.journal"), onResult });
  expect(summary).toMatchObject({ rows: 6, created: 3, rejected: 3, failed: 0 });
  const byKey = Object.fromEntries(results.map((result) => [result.key, result]));
  expect(byKey["ambiguous"]?.problems?.map((problem) => problem.pointer).sort()).toEqual(["/model/account", "/model/contacts/0"]);
  expect(byKey["ambiguous"]?.problems?.[0]?.message).toMatch(/matches/);
  expect(byKey["missing"]?.problems).toEqual([expect.objectContaining({ pointer: "/model/contacts/1", message: expect.stringContaining("nobody@example.com") })]);
  expect(byKey["malformed"]?.problems?.[0]?.pointer).toBe("/model/owner");
  const models = sentModels().sort((x, y) => String(x.subject).localeCompare(String(y.subject)));
  expect(models).toEqual([
    { subject: "a", contacts: [id(1), id(2)], owner: id(11), account: id(21), engagement_type: id(31) },
    { subject: "b", contacts: [id(101)], owner: id(111), engagement_type: id(133) },
    { subject: "ids", contacts: [id(1)], owner: id(11) },
  ]);
  // The rejected rows are final in the journal: a rerun sends nothing again.
  const journal = await readJournal(join(dir(), "refs.journal"));
  expect(journal.counts.rejected).toBe(3);
  const again = await bulkCreate(client(), rows, { ...fast, journal: join(dir(), "refs.journal") });
  expect(again).toMatchObject({ doneBefore: 6, created: 0 });
  expect(writes()).toHaveLength(3);
});

test('missingContacts "create" over a run: 30 rows naming one unknown email make one contact; "omit" leaves it out; a dry run looks up but creates nothing', async () => {
  const rows = (token: string): BulkRow[] =>
    Array.from({ length: 30 }, (_, i) => ({ key: `new-${i}`, accountToken: token, model: { subject: `new ${i}`, contacts: [{ email: "new.person@example.com", last_name: "Person" }] } }));
  const dry = await bulkCreate(client(), rows(A), { ...fast, dryRun: true, missingContacts: "create" });
  expect(dry).toMatchObject({ valid: 30, rejected: 0 });
  expect(server.contactCreates()).toHaveLength(0);
  expect(server.lookups(A).length).toBeGreaterThan(0);

  const summary = await bulkCreate(client(), rows(A), { ...fast, missingContacts: "create" });
  expect(summary).toMatchObject({ created: 30 });
  expect(server.contactCreates(A)).toHaveLength(1);
  const contactId = JSON.parse(server.contactCreates(A)[0]?.body ?? "{}") && [...server.storedContacts.values()][0]?.id;
  expect(new Set(sentModels().map((model) => JSON.stringify(model.contacts)))).toEqual(new Set([JSON.stringify([contactId])]));

  const omitted = await bulkCreate(client(), rows(B), { ...fast, missingContacts: "omit" });
  expect(omitted).toMatchObject({ created: 30 });
  expect(server.contactCreates(B)).toHaveLength(0);
  expect(sentModels().filter((model) => String(model.subject).startsWith("new")).slice(30).every((model) => Array.isArray(model.contacts) && model.contacts.length === 0)).toBe(true);
  await expect(bulkCreate(client(), [], { missingContacts: "sometimes" as never })).rejects.toThrow(/\/missingContacts/);
});

test("a run looks each email, owner, company and engagement type up about once: 200 rows over 2 accounts, a handful of lookups each", async () => {
  const emails = ["ada@example.com", "grace@example.com", "g.hopper@example.org"];
  const rows: BulkRow[] = Array.from({ length: 200 }, (_, i) => ({
    key: `r${i}`,
    accountToken: i % 2 === 0 ? A : B,
    model: { subject: `r${i}`, contacts: [{ email: emails[i % 3] ?? "" }], owner: { email: "rep@example.com" }, account: { name: "Acme Inc" }, engagement_type: { activity_type: i % 4 < 2 ? "CALL" : "MEETING" } },
  }));
  const summary = await bulkCreate(client(), rows, fast);
  expect(summary.created).toBe(200);
  for (const token of [A, B]) {
    const paths = server.lookups(token).map((arrival) => arrival.url.split("?")[0]);
    // One batch of contact emails, the users' one page, one account name, the engagement types' one page.
    expect(paths.sort()).toEqual(["/crm/v1/accounts", "/crm/v1/contacts", "/crm/v1/engagement-types", "/crm/v1/users"]);
  }
});

test("lookups are paced with the account's rate, like writes: an account's requests of both kinds stay within its rate", async () => {
  const rows: BulkRow[] = Array.from({ length: 8 }, (_, i) => ({
    key: `p${i}`,
    accountToken: A,
    model: { subject: `p${i}`, contacts: [{ email: `person${i}@example.com` }], account: { name: `Company ${i}` } },
  }));
  server.setDirectory(A, {
    contacts: rows.map((_, i) => ({ id: id(500 + i), email_addresses: [{ email_address: `person${i}@example.com` }] })),
    accounts: rows.map((_, i) => ({ id: id(600 + i), name: `Company ${i}` })),
  });
  const started = Date.now();
  // 300 a minute: one request every 200 ms for the account, lookups and writes alike.
  const summary = await bulkCreate(client(), rows, { ratePerMinute: 300 });
  expect(summary.created).toBe(8);
  const times = server.arrivals.filter((a) => a.account === A && !a.url.includes("/meta/")).map((a) => a.at);
  const lookups = server.lookups(A).length;
  expect(lookups).toBeGreaterThanOrEqual(9); // 8 company names, at least one batch of emails
  expect(times).toHaveLength(8 + lookups);
  // Paced: at most the rate's burst in any second (5 a second; a late turn may be made up, never closer than half an interval), and the
  // run took about (requests - burst) × 200 ms.
  expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(10);
  expect(Date.now() - started).toBeGreaterThan((8 + lookups - 4) * 200 * 0.8);
}, 60_000);

test("failing lookups count in the failure guard like failing writes: no more than Merge's 20 in 10 s, and their rows fail unsent", async () => {
  server.answer = (arrival) => (arrival.method === "GET" && arrival.url.startsWith("/crm/v1/accounts") ? { status: 500, body: '{"detail":"down"}' } : undefined);
  const rows: BulkRow[] = Array.from({ length: 40 }, (_, i) => ({ key: `f${i}`, accountToken: i % 2 ? A : B, model: { subject: `f${i}`, account: { name: `Company ${i}` } } }));
  const { results, onResult } = collect();
  const summary = await bulkCreate(client(), rows, { ...fast, maxAttempts: 2, onResult });
  const failing = server.arrivals.filter((a) => a.status >= 500).map((a) => a.at);
  expect(maxInWindow(failing, 10_000)).toBeLessThanOrEqual(20);
  expect(writes()).toHaveLength(0);
  expect(summary.created).toBe(0);
  for (const result of results) {
    expect(result.outcome).not.toBe("created");
    if (result.error) expect(result.error.writeMayHaveHappened).toBe(false);
  }
}, 60_000);
