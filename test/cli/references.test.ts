/**
 * `import` with rows that name references, run as a user runs the CLI (a child process against the
 * fake Merge holding each account's contacts, users, accounts and engagement types): CSV reference
 * columns and NDJSON references, rejects by pointer and reason, `--missing-contacts`, and 30 rows
 * naming one unknown email killed and rerun: one contact.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Directory } from "../support/fake-merge.js";
import { id, referenceDirectory } from "../support/reference-directory.js";
import { runCli, startCli, usageErrorOf, useCliFixture } from "./run-cli.js";

const KEY = { MERGE_API_KEY: "cli-references-api-key" };
const A = "cli-references-account-a";
const B = "cli-references-account-b";
const { server, dir } = useCliFixture("cli-references-");

/** The shared reference directory, with an EMAIL type named "Email" instead of the MEETING one (the CSV names MEETING as a type no account has). */
function directory(offset: number): Partial<Directory> {
  return {
    ...referenceDirectory(offset),
    engagementTypes: [
      { id: id(offset + 31), activity_type: "CALL", name: "Call" },
      { id: id(offset + 32), activity_type: "CALL", name: "Cold call" },
      { id: id(offset + 33), activity_type: "EMAIL", name: "Email" },
    ],
  };
}

beforeEach(() => {
  server.setDirectory(A, directory(0));
  server.setDirectory(B, directory(100));
});

const writes = () => server.arrivals.filter((a) => a.method === "POST" && a.url.startsWith("/crm/v1/engagements"));
const sentBySubject = () => Object.fromEntries(writes().map((a) => JSON.parse(a.body).model).map((model) => [model.subject, model]));
const rejectsOf = (path: string) =>
  readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { key?: string; line: number; problems: { pointer: string; message: string }[] });

test("CSV reference columns: rows are written with their account's ids; a reference that matches nothing or several rejects its row by pointer and reason; exit 1", async () => {
  const file = join(dir(), "calls.csv");
  writeFileSync(
    file,
    [
      "subject,account_token,contacts,contacts.email,contacts.remote_id,owner.email,account.name,engagement_type.activity_type,engagement_type.name",
      `found,${A},,ada@example.com; g.hopper@EXAMPLE.org,,rep@example.com,acme inc,CALL,`,
      `mixed,${B},${id(999)},grace@example.com,c-ada,,,,Email`,
      `ambiguous,${A},,info@example.com,,,Globex,,`,
      `unknown,${A},,nobody@example.com,,ghost@example.com,,MEETING,`,
    ].join("\n") + "\n",
  );
  const rejects = join(dir(), "calls.rejects.ndjson");
  const run = await runCli(["import", file, "--base-url", server.url, "--rejects", rejects, "--json"], KEY);
  expect(run.code).toBe(1);
  const summary = JSON.parse(run.stdout);
  expect(summary).toMatchObject({ rows: 4, created: 2, rejected: 2 });
  expect(sentBySubject()).toEqual({
    found: { subject: "found", contacts: [id(1), id(2)], owner: id(11), account: id(21), engagement_type: id(31) },
    mixed: { subject: "mixed", contacts: [id(999), id(102), id(101)], engagement_type: id(133) },
  });
  const rejected = Object.fromEntries(rejectsOf(rejects).map((entry) => [entry.line, entry.problems]));
  expect(rejected[4]?.map((p) => p.pointer).sort()).toEqual(["/model/account", "/model/contacts/0"]);
  expect(rejected[4]?.find((p) => p.pointer === "/model/contacts/0")?.message).toMatch(new RegExp(`2 matches.*${id(3)}, ${id(4)}`));
  expect(rejected[5]?.map((p) => p.pointer).sort()).toEqual(["/model/contacts/0", "/model/engagement_type", "/model/owner"]);
  expect(rejected[5]?.find((p) => p.pointer === "/model/contacts/0")?.message).toContain('no contact with email "nobody@example.com"');
  // No account token in what the CLI printed or wrote.
  expect(`${run.stdout}${run.stderr}${readFileSync(rejects, "utf8")}`).not.toContain(A);
});

test("NDJSON references inside model, --missing-contacts omit: the unknown contact is left out (a note says so) and the row written", async () => {
  const file = join(dir(), "calls.ndjson");
  const rows = [
    { account_token: A, model: { subject: "omit", contacts: [{ email: "nobody@example.com" }, { email: "ada@example.com" }], engagement_type: { activity_type: "EMAIL" } } },
    { account_token: A, model: { subject: "owner", owner: { remote_id: "u-rep" }, account: { remote_id: "a-acme" } } },
  ];
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
  const run = await runCli(["import", file, "--base-url", server.url, "--missing-contacts", "omit"], KEY);
  expect(run.code).toBe(0);
  expect(run.stderr).toContain("nobody@example.com");
  expect(sentBySubject()).toEqual({
    omit: { subject: "omit", contacts: [id(1)], engagement_type: id(33) },
    owner: { subject: "owner", owner: id(11), account: id(21) },
  });
  expect(usageErrorOf(["import", file, "--missing-contacts", "maybe"])).toMatch(/--missing-contacts must be reject, omit or create/);
  expect(usageErrorOf(["export", "--account-token", "t", "--out", "x", "--missing-contacts", "omit"])).toMatch(/--missing-contacts is an option of import and enqueue/);
});

test("--missing-contacts create: 30 rows naming one unknown email, sent concurrently, killed twice and rerun: exactly one contact, every row written once", async () => {
  const file = join(dir(), "new-contact.ndjson");
  const rows = Array.from({ length: 30 }, (_, i) => ({ account_token: A, key: `row-${i}`, model: { subject: `new ${i}`, contacts: [{ email: "New.Person@example.com", first_name: "New", last_name: "Person" }] } }));
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
  // Slow writes, so a kill finds them in flight; Merge's copy shows a new contact only after its next
  // sync, so a rerun cannot find the first run's contact and must create it again: the key makes it one.
  server.delay = () => 300;
  server.contactsVisibleAfterMs = 3_600_000;
  const args = ["import", file, "--base-url", server.url, "--missing-contacts", "create", "--rate", "60000", "--json"];
  const killWhen = async (ready: () => boolean) => {
    const { child, done } = startCli(args, KEY);
    const deadline = Date.now() + 20_000;
    while (!ready() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    child.kill("SIGKILL");
    return done;
  };
  // 1: killed while the contact's create is in flight (stored by Merge, unanswered).
  const first = await killWhen(() => server.contactCreates().length >= 1);
  expect(first.signal).toBe("SIGKILL");
  expect(writes()).toHaveLength(0);
  // 2: killed with engagement writes in flight.
  const second = await killWhen(() => writes().length >= 5);
  expect(second.signal).toBe("SIGKILL");
  // 3: to the end.
  const last = await runCli(args, KEY);
  expect(last.code).toBe(0);
  expect(server.storedContacts.size).toBe(1);
  const creates = server.contactCreates();
  expect(creates.length).toBeGreaterThanOrEqual(2);
  expect(new Set(creates.map((arrival) => arrival.idempotencyKey)).size).toBe(1);
  const contactId = [...server.storedContacts.values()][0]?.id;
  const stored = [...server.stored.values()].map((entry) => JSON.parse(entry.body).model);
  expect(stored).toHaveLength(30);
  expect(new Set(stored.map((model) => model.subject)).size).toBe(30);
  expect(stored.every((model) => JSON.stringify(model.contacts) === JSON.stringify([contactId]))).toBe(true);
}, 60_000);
