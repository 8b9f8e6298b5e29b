/**
 * `engagements.resolve` against the fake Merge holding contacts, users, accounts and engagement types
 * per linked account: mixed-case emails, a contact with several emails, an email two contacts share,
 * two accounts with one name, two CALL types. Every rule of references: one match gives its id, none
 * rejects, omits or creates (once), several are ambiguous; pointers, caching, batching, per account.
 */
import {
  createMergeCrmClient,
  MergeReferenceError,
  MergeServerError,
  MergeValidationError,
  type ClientOptions,
  type EngagementDraft,
  type Logger,
  type ReferenceIssue,
} from "../../src/index.js";
import { FakeMerge, type Directory } from "../support/fake-merge.js";

const server = new FakeMerge();
beforeAll(() => server.start());
afterAll(() => server.stop());

const A = "acct_references_a";
const B = "acct_references_b";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const ADA = id(1);
const GRACE = id(2);
const SHARED_1 = id(3);
const SHARED_2 = id(4);
const REP = id(11);
const ACME = id(21);
const GLOBEX_1 = id(22);
const GLOBEX_2 = id(23);
const ACME_HOLDINGS = id(24);
const CALL = id(31);
const SALES_CALL = id(32);
const MEETING = id(33);
const B_ADA = id(101);
const B_CALL_1 = id(131);
const B_CALL_2 = id(132);

function directoryA(): Partial<Directory> {
  const emails = (...list: string[]) => list.map((email_address) => ({ email_address, email_address_type: "WORK" }));
  return {
    contacts: [
      { id: ADA, remote_id: "crm-ada", first_name: "Ada", last_name: "Lovelace", email_addresses: emails("Ada.Lovelace@Example.COM") },
      { id: GRACE, remote_id: "crm-grace", first_name: "Grace", last_name: "Hopper", email_addresses: emails("grace@navy.example", "ghopper@example.com") },
      { id: SHARED_1, remote_id: "crm-s1", first_name: "Front", last_name: "Desk", email_addresses: emails("info@example.com") },
      { id: SHARED_2, remote_id: "crm-s2", first_name: "Sales", last_name: "Desk", email_addresses: emails("INFO@example.com") },
    ],
    users: [
      { id: REP, remote_id: "crm-rep", name: "Rita Rep", email: "Rita.Rep@Example.com" },
      { id: id(12), remote_id: "crm-boss", name: "Bo Boss", email: "boss@example.com" },
    ],
    accounts: [
      { id: ACME, remote_id: "crm-acme", name: "Acme Inc" },
      { id: ACME_HOLDINGS, remote_id: "crm-acme-h", name: "Acme Inc Holdings" },
      { id: GLOBEX_1, remote_id: "crm-globex-1", name: "Globex" },
      { id: GLOBEX_2, remote_id: "crm-globex-2", name: "globex" },
    ],
    engagementTypes: [
      { id: SALES_CALL, remote_id: "crm-t-sales", activity_type: "CALL", name: "Sales call" },
      { id: CALL, remote_id: "crm-t-call", activity_type: "CALL", name: "Call" },
      { id: MEETING, remote_id: "crm-t-meeting", activity_type: "MEETING", name: "Meeting" },
    ],
  };
}

beforeEach(() => {
  server.reset();
  server.setDirectory(A, directoryA());
  server.setDirectory(B, {
    contacts: [{ id: B_ADA, remote_id: "crm-ada", first_name: "Ada", email_addresses: [{ email_address: "ada.lovelace@example.com" }] }],
    engagementTypes: [
      { id: B_CALL_1, activity_type: "CALL", name: "Inbound call" },
      { id: B_CALL_2, activity_type: "CALL", name: "Outbound call" },
    ],
  });
});

function client(options: Partial<ClientOptions> = {}) {
  return createMergeCrmClient({ apiKey: "sk_references", baseUrl: server.url, maxRetries: 0, ...options });
}

async function referenceError(promise: Promise<unknown>): Promise<MergeReferenceError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(MergeReferenceError);
  if (!(error instanceof MergeReferenceError)) throw new Error("unreachable");
  return error;
}

const byPointer = (issues: readonly ReferenceIssue[]) => Object.fromEntries(issues.map((issue) => [issue.pointer, issue]));
const engagementPosts = () => server.arrivals.filter((a) => a.method === "POST" && a.url.startsWith("/crm/v1/engagements"));

test("every kind of reference resolves to its one match: emails and names trimmed and in any case, a contact's second email, the CRM's ids, the one CALL type named Call", async () => {
  const merge = client();
  const draft: EngagementDraft = {
    subject: "Call with Ada",
    direction: "OUTBOUND",
    start_time: new Date("2026-01-02T03:04:05Z"),
    contacts: [{ email: "  ada.lovelace@example.com " }, { email: "GHopper@Example.com" }, { remote_id: "crm-s1" }, id(99)],
    owner: { email: "rita.rep@example.COM" },
    account: { name: " acme inc" },
    engagement_type: { activity_type: "CALL" },
  };
  const model = await merge.engagements.resolve(draft, { accountToken: A });
  expect(model).toEqual({
    subject: "Call with Ada",
    direction: "OUTBOUND",
    start_time: new Date("2026-01-02T03:04:05Z"),
    contacts: [ADA, GRACE, SHARED_1, id(99)],
    owner: REP,
    account: ACME,
    engagement_type: CALL,
  });
  // The draft is not changed; `create` takes what `resolve` gave.
  expect(draft.owner).toEqual({ email: "rita.rep@example.COM" });
  const { model: created } = await merge.engagements.create(model, { accountToken: A });
  expect(created).toBeDefined();
  const sent = JSON.parse(engagementPosts()[0]?.body ?? "{}");
  expect(sent.model).toMatchObject({ contacts: [ADA, GRACE, SHARED_1, id(99)], owner: REP, account: ACME, engagement_type: CALL });

  const other = await merge.engagements.resolve(
    { owner: { remote_id: "crm-rep" }, account: { remote_id: "crm-globex-2" }, engagement_type: { name: "sales CALL" } },
    { accountToken: A },
  );
  expect(other).toEqual({ owner: REP, account: GLOBEX_2, engagement_type: SALES_CALL });
  expect(await merge.engagements.resolve({ engagement_type: { remote_id: "crm-t-meeting" }, owner: null, contacts: [] }, { accountToken: A })).toEqual({
    engagement_type: MEETING,
    owner: null,
    contacts: [],
  });
});

test("several matches are never a guess: an email two contacts share, two accounts with one name, two CALL types none named Call; each names its candidates", async () => {
  const merge = client();
  const error = await referenceError(
    merge.engagements.resolve(
      { subject: "x", contacts: [{ email: "ada.lovelace@example.com" }, { email: "info@EXAMPLE.com" }], account: { name: "Globex" } },
      { accountToken: A },
    ),
  );
  const issues = byPointer(error.references);
  expect(Object.keys(issues).sort()).toEqual(["/model/account", "/model/contacts/1"]);
  expect(issues["/model/contacts/1"]).toMatchObject({ kind: "contact", reason: "ambiguous", lookedFor: { email: "info@EXAMPLE.com" } });
  expect([...(issues["/model/contacts/1"]?.candidates ?? [])].sort()).toEqual([SHARED_1, SHARED_2]);
  expect(issues["/model/account"]).toMatchObject({ kind: "account", reason: "ambiguous", lookedFor: { name: "Globex" } });
  expect([...(issues["/model/account"]?.candidates ?? [])].sort()).toEqual([GLOBEX_1, GLOBEX_2]);
  expect(error).toBeInstanceOf(MergeValidationError);
  expect(error.message).toContain("/model/contacts/1");
  expect(error.problems).toEqual(error.references);
  expect(error.writeMayHaveHappened).toBe(false);

  const types = await referenceError(merge.engagements.resolve({ engagement_type: { activity_type: "CALL" } }, { accountToken: B }));
  expect(types.references[0]).toMatchObject({ pointer: "/model/engagement_type", reason: "ambiguous", candidates: [B_CALL_1, B_CALL_2] });
  expect(engagementPosts()).toHaveLength(0);
});

test("none found: rejected by default with the pointer, what was looked for and why; the loose name search's near miss is not a match; nothing is sent", async () => {
  const merge = client();
  const error = await referenceError(
    merge.engagements.resolve(
      {
        contacts: [{ email: "ada.lovelace@example.com" }, { email: "nobody@example.com" }, { remote_id: "crm-nobody" }],
        owner: { email: "ghost@example.com" },
        account: { name: "Acme" },
        engagement_type: { activity_type: "EMAIL" },
      },
      { accountToken: A },
    ),
  );
  const issues = byPointer(error.references);
  expect(Object.keys(issues).sort()).toEqual(["/model/account", "/model/contacts/1", "/model/contacts/2", "/model/engagement_type", "/model/owner"]);
  expect(issues["/model/contacts/1"]).toMatchObject({ kind: "contact", reason: "not-found", lookedFor: { email: "nobody@example.com" } });
  expect(issues["/model/contacts/1"]?.message).toMatch(/no contact with email "nobody@example.com"/);
  expect(issues["/model/contacts/2"]).toMatchObject({ reason: "not-found", lookedFor: { remote_id: "crm-nobody" } });
  // The fake's name search is loose ("Acme" finds "Acme Inc" and "Acme Inc Holdings"): neither is "Acme".
  expect(issues["/model/account"]).toMatchObject({ reason: "not-found", lookedFor: { name: "Acme" } });
  expect(issues["/model/owner"]).toMatchObject({ kind: "owner", reason: "not-found" });
  expect(issues["/model/engagement_type"]).toMatchObject({ kind: "engagement_type", reason: "not-found", lookedFor: { activity_type: "EMAIL" } });
  expect(server.contactCreates()).toHaveLength(0);
  expect(engagementPosts()).toHaveLength(0);
});

test('missingContacts "omit": the unknown contact is dropped with a warning naming its pointer; the others stay in order', async () => {
  const warnings: string[] = [];
  const logger: Logger = { warn: (message: string) => warnings.push(message) };
  const merge = client({ logger });
  const model = await merge.engagements.resolve(
    { contacts: [{ email: "nobody@example.com" }, { email: "ada.lovelace@example.com" }, id(7)] },
    { accountToken: A, missingContacts: "omit" },
  );
  expect(model.contacts).toEqual([ADA, id(7)]);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain("/model/contacts/0");
  expect(warnings[0]).toContain("nobody@example.com");
  // Other kinds are still rejected.
  await referenceError(merge.engagements.resolve({ owner: { email: "ghost@example.com" } }, { accountToken: A, missingContacts: "omit" }));
});

test('missingContacts "create": one contact per account and email, whatever the concurrency, retries and reruns; named by the reference', async () => {
  const merge = client();
  const drafts = Array.from({ length: 30 }, (): EngagementDraft => ({ contacts: [{ email: "New.Person@Example.com", first_name: "New", last_name: "Person" }] }));
  const models = await Promise.all(drafts.map((draft) => merge.engagements.resolve(draft, { accountToken: A, missingContacts: "create" })));
  const ids = new Set(models.map((model) => model.contacts?.[0]));
  expect(ids.size).toBe(1);
  const creates = server.contactCreates(A);
  expect(creates).toHaveLength(1);
  expect(creates[0]?.idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // The email as matched (trimmed, lower case): the body depends only on what its key is derived from.
  expect(JSON.parse(creates[0]?.body ?? "{}").model).toEqual({ first_name: "New", last_name: "Person", email_addresses: [{ email_address: "new.person@example.com" }] });

  // A rerun (a new process: a new client, nothing cached) before Merge's sync shows the contact: the
  // same key, so Merge replays the first answer and no second contact exists.
  server.contactsVisibleAfterMs = 60_000;
  const rerun = await client().engagements.resolve({ contacts: [{ email: "other@example.com" }] }, { accountToken: A, missingContacts: "create" });
  const again = await client().engagements.resolve({ contacts: [{ email: "other@example.com" }] }, { accountToken: A, missingContacts: "create" });
  expect(again.contacts).toEqual(rerun.contacts);
  const otherCreates = server.contactCreates(A).filter((arrival) => arrival.body.includes("other@example.com"));
  expect(otherCreates).toHaveLength(2);
  expect(otherCreates[0]?.idempotencyKey).toBe(otherCreates[1]?.idempotencyKey);
  expect(server.storedContacts.size).toBe(2);
  // The same email in another linked account is another contact, under another key.
  const inB = await client().engagements.resolve({ contacts: [{ email: "other@example.com" }] }, { accountToken: B, missingContacts: "create" });
  expect(inB.contacts?.[0]).not.toBe(rerun.contacts?.[0]);
  expect(server.contactCreates(B)[0]?.idempotencyKey).not.toBe(otherCreates[0]?.idempotencyKey);
});

test("malformed references are refused by pointer before any lookup; so is a bad missingContacts", async () => {
  const merge = client();
  const error = await referenceError(
    merge.engagements.resolve(
      {
        contacts: [{ email: "" }, { email: "a@example.com", remote_id: "x" }, { remote_id: "crm-ada", first_name: "Ada" }],
        // @ts-expect-error: a phone number does not name an owner
        owner: { phone: "+1555" },
        // @ts-expect-error: a name is a string
        account: { name: 42 },
      },
      { accountToken: A },
    ),
  );
  expect(error.references.map((issue) => [issue.pointer, issue.reason])).toEqual([
    ["/model/account", "invalid"],
    ["/model/contacts/0", "invalid"],
    ["/model/contacts/1", "invalid"],
    ["/model/contacts/2", "invalid"],
    ["/model/owner", "invalid"],
  ]);
  expect(server.lookups()).toHaveLength(0);
  // @ts-expect-error: not a mode
  await expect(merge.engagements.resolve({}, { accountToken: A, missingContacts: "guess" })).rejects.toThrow(/\/missingContacts/);
  // validateCreate checks a draft's references for their shape, and the rest against the spec, without lookups.
  // @ts-expect-error: not a direction
  const problems = await merge.engagements.validateCreate({ direction: "SIDEWAYS", owner: { email: "" }, contacts: [{ email: "ada@example.com" }] }, { accountToken: A });
  expect(problems.map((problem) => problem.pointer).sort()).toEqual(["/model/direction", "/model/owner"]);
  expect(server.lookups()).toHaveLength(0);
});

test("create keeps taking ids only: its types refuse a reference, and so does its validation", async () => {
  const merge = client();
  await expect(
    // @ts-expect-error: create takes Merge ids; resolve turns references into them
    merge.engagements.create({ subject: "x", owner: { email: "rita.rep@example.com" } }, { accountToken: A }),
  ).rejects.toBeInstanceOf(MergeValidationError);
  expect(engagementPosts()).toHaveLength(0);
});

test("lookups are cached per linked account, shared while in flight, and contact emails go in batches", async () => {
  const merge = client();
  const emails = ["ada.lovelace@example.com", "grace@navy.example", "ghopper@example.com", ...Array.from({ length: 17 }, (_, i) => `missing${i}@example.com`)];
  const drafts = emails.map((email): EngagementDraft => ({ contacts: [{ email }], owner: { email: "rita.rep@example.com" }, engagement_type: { activity_type: "CALL" }, account: { name: "Acme Inc" } }));
  await Promise.all(drafts.map((draft) => merge.engagements.resolve(draft, { accountToken: A, missingContacts: "omit" })));
  const lookups = server.lookups(A);
  const paths = lookups.map((arrival) => arrival.url.split("?")[0]);
  expect(paths.filter((path) => path === "/crm/v1/contacts")).toHaveLength(1);
  expect(paths.filter((path) => path === "/crm/v1/users")).toHaveLength(1);
  expect(paths.filter((path) => path === "/crm/v1/accounts")).toHaveLength(1);
  expect(paths.filter((path) => path === "/crm/v1/engagement-types")).toHaveLength(1);
  const contactQuery = new URL(lookups.find((arrival) => arrival.url.startsWith("/crm/v1/contacts"))?.url ?? "", server.url).searchParams;
  expect(contactQuery.getAll("email_addresses")).toHaveLength(1);
  expect(contactQuery.get("email_addresses")?.split(",")).toEqual(expect.arrayContaining(emails));

  // Again: all from the cache (misses too, for a minute).
  await Promise.all(drafts.map((draft) => merge.engagements.resolve(draft, { accountToken: A, missingContacts: "omit" })));
  expect(server.lookups(A)).toHaveLength(lookups.length);
  // Another linked account has its own cache and its own ids.
  const inB = await merge.engagements.resolve({ contacts: [{ email: "ada.lovelace@example.com" }] }, { accountToken: B });
  expect(inB.contacts).toEqual([B_ADA]);
  expect(server.lookups(B)).toHaveLength(1);
});

test("more than 50 emails at once: batches of 50, each one request", async () => {
  const merge = client({ logger: {} });
  const emails = Array.from({ length: 120 }, (_, i) => `person${i}@example.com`);
  await Promise.all(emails.map((email) => merge.engagements.resolve({ contacts: [{ email }] }, { accountToken: A, missingContacts: "omit" })));
  const contactLookups = server.lookups(A).filter((arrival) => arrival.url.startsWith("/crm/v1/contacts"));
  expect(contactLookups).toHaveLength(3);
});

test("a found id is kept referenceCacheTtlMs; a miss at most that long, then looked up again", async () => {
  const merge = client({ referenceCacheTtlMs: 150 });
  await merge.engagements.resolve({ owner: { email: "rita.rep@example.com" } }, { accountToken: A });
  await merge.engagements.resolve({ owner: { email: "rita.rep@example.com" } }, { accountToken: A });
  expect(server.lookups(A)).toHaveLength(1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await merge.engagements.resolve({ owner: { email: "rita.rep@example.com" } }, { accountToken: A });
  expect(server.lookups(A)).toHaveLength(2);
});

test("a failed lookup rejects with its API error (not a reference error), is not cached, and is asked again next time", async () => {
  const merge = client();
  server.answer = (arrival) => (arrival.url.startsWith("/crm/v1/accounts") ? { status: 503, body: '{"detail":"busy"}' } : undefined);
  await expect(merge.engagements.resolve({ account: { name: "Acme Inc" } }, { accountToken: A })).rejects.toBeInstanceOf(MergeServerError);
  server.answer = undefined;
  expect(await merge.engagements.resolve({ account: { name: "Acme Inc" } }, { accountToken: A })).toEqual({ account: ACME });
});

test("no credential appears in a reference error, its JSON or its message", async () => {
  const merge = client({ apiKey: "sk_secret_key_123" });
  const error = await referenceError(merge.engagements.resolve({ contacts: [{ email: "nobody@example.com" }] }, { accountToken: A }));
  const text = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
  expect(text).not.toContain("sk_secret_key_123");
  expect(text).not.toContain(A);
});

test("what is not a reference stays as it is, for validation to judge: null contacts, an id, a number", async () => {
  const merge = client();
  // @ts-expect-error: contacts is a list
  expect(await merge.engagements.resolve({ contacts: null, owner: id(5) }, { accountToken: A })).toEqual({ contacts: null, owner: id(5) });
  // @ts-expect-error: an owner is an id or a reference
  expect(await merge.engagements.resolve({ owner: 42, contacts: [id(6)] }, { accountToken: A })).toEqual({ owner: 42, contacts: [id(6)] });
  expect(server.lookups()).toHaveLength(0);
});

test("the cache is bounded: past referenceCacheSize the least recently used lookup is dropped and asked again", async () => {
  const merge = client({ referenceCacheSize: 2 });
  const account = (name: string) => merge.engagements.resolve({ account: { name } }, { accountToken: A }).catch(() => undefined);
  await account("Acme Inc");
  await account("Globex");
  await account("Acme Inc"); // cached; now the most recently used
  expect(server.lookups(A)).toHaveLength(2);
  await account("Initech"); // a third name: "Globex" is dropped
  await account("Acme Inc");
  expect(server.lookups(A)).toHaveLength(3);
  await account("Globex");
  expect(server.lookups(A)).toHaveLength(4);
});
