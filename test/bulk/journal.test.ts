/** The journal file: records survive reopening, the last record of a row wins, a torn last line is cut. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openJournal, readJournal, type BulkRowResult } from "../../src/bulk/index.js";
import { hashOf } from "../../src/bulk/journal.js";

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "journal-"));
  path = join(dir, "run.journal");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const created = (key: string, id: string, account = "a1"): BulkRowResult => ({ account, key, outcome: "created", id, attempts: 1, line: 3 });

test("records are found after reopening; the last record of a row wins; other rows are untouched", async () => {
  const journal = await openJournal(path);
  journal.record({ account: "a1", key: "k1", outcome: "failed", attempts: 1, sentAt: "2026-11-26T08:00:00.000Z", error: { name: "Interrupted", message: "sent", writeMayHaveHappened: true } });
  journal.record(created("k2", "id-2"));
  journal.record({ ...created("k1", "id-1"), sentAt: "2026-11-26T08:00:00.000Z" });
  journal.record(created("k1", "id-other-account", "a2"));
  expect(journal.outcomeOf("a1", "k1")).toMatchObject({ outcome: "created", id: "id-1", sentAt: "2026-11-26T08:00:00.000Z" });
  await journal.close();

  const reopened = await openJournal(path);
  expect(reopened.outcomeOf("a1", "k1")).toMatchObject({ outcome: "created", id: "id-1" });
  expect(reopened.outcomeOf("a1", "k2")).toEqual(created("k2", "id-2"));
  expect(reopened.outcomeOf("a2", "k1")).toMatchObject({ id: "id-other-account" });
  expect(reopened.outcomeOf("a1", "k3")).toBeUndefined();
  expect(reopened.outcomeOf("a2", "k2")).toBeUndefined();
  await reopened.close();

  const { results, counts } = await readJournal(path);
  expect(results).toHaveLength(3);
  expect(counts).toEqual({ created: 3, "done-before": 0, rejected: 0, held: 0, failed: 0, valid: 0 });
});

test("one line per record, starting with the journal's header; problems and errors kept", async () => {
  const journal = await openJournal(path);
  journal.record({ account: "a1", key: "k", outcome: "rejected", attempts: 0, problems: [{ pointer: "/model/direction", message: "must be one of" }] });
  await journal.close();
  const lines = readFileSync(path, "utf8").split("\n");
  expect(lines).toHaveLength(3);
  expect(JSON.parse(lines[0] ?? "")).toEqual({ journal: "merge-crm-engagements/bulk", version: 1 });
  expect(JSON.parse(lines[1] ?? "")).toMatchObject({ account: "a1", key: "k", outcome: "rejected", problems: [{ pointer: "/model/direction" }] });
  expect(lines[2]).toBe("");
});

test("a torn last line (a crash mid-write) is ignored and cut off on open; the records before it stand", async () => {
  const journal = await openJournal(path);
  journal.record(created("k1", "id-1"));
  await journal.close();
  const whole = statSync(path).size;
  appendFileSync(path, '{"account":"a1","key":"k2","outcome":"crea');
  expect((await readJournal(path)).results).toHaveLength(1);
  const reopened = await openJournal(path);
  expect(statSync(path).size).toBe(whole);
  expect(reopened.outcomeOf("a1", "k2")).toBeUndefined();
  reopened.record(created("k2", "id-2"));
  await reopened.close();
  expect((await readJournal(path)).counts.created).toBe(2);
});

test("a header torn at creation is written again; a file that is something else is refused untouched", async () => {
  writeFileSync(path, '{"journal":"merge-crm-en');
  const journal = await openJournal(path);
  journal.record(created("k1", "id-1"));
  await journal.close();
  expect((await readJournal(path)).results).toHaveLength(1);

  const other = join(dir, "notes.txt");
  writeFileSync(other, "no newline here");
  await expect(openJournal(other)).rejects.toMatchObject({ name: "MergeBulkJournalError" });
  expect(readFileSync(other, "utf8")).toBe("no newline here");
  await expect(readJournal(join(dir, "missing.journal"))).rejects.toMatchObject({ name: "MergeBulkJournalError" });
});

test("records larger than a read buffer and many rows read back exactly (hash collisions resolved by reading)", async () => {
  const journal = await openJournal(path);
  const long = "x".repeat(10_000);
  journal.record({ ...created("long", "id-long"), error: { name: "E", message: long, writeMayHaveHappened: false } });
  for (let i = 0; i < 20_000; i++) journal.record(created(`row-${i}`, `id-${i}`));
  await journal.close();
  const reopened = await openJournal(path);
  expect(reopened.outcomeOf("a1", "long")?.error?.message).toBe(long);
  for (let i = 0; i < 20_000; i += 7) expect(reopened.outcomeOf("a1", `row-${i}`)?.id).toBe(`id-${i}`);
  expect(reopened.outcomeOf("a1", "row-20000")).toBeUndefined();
  await reopened.close();
});

test("a closed journal refuses records; closing twice is harmless; the lock goes with the close", async () => {
  const journal = await openJournal(path);
  expect(statSync(`${path}.lock`).isFile()).toBe(true);
  await journal.close();
  await journal.close();
  expect(() => statSync(`${path}.lock`)).toThrow();
  expect(() => journal.record(created("k", "id"))).toThrow(/closed/);
});

test("rows whose index hashes collide are told apart by reading their records, on open and while recording", async () => {
  // Birthday search for three keys sharing one 30-bit hash bucket pair-wise: ~2^15 tries each.
  const seen = new Map<number, string>();
  const pairs: Array<[string, string]> = [];
  for (let i = 0; pairs.length < 2; i++) {
    const key = `k${Math.imul(i, 0x9e3779b1) >>> 0}`;
    const hash = hashOf("a1", key);
    const other = seen.get(hash);
    if (other !== undefined) pairs.push([other, key]);
    else seen.set(hash, key);
  }
  const [[a, b], [c, d]] = pairs as [[string, string], [string, string]];
  const journal = await openJournal(path);
  journal.record({ account: "a1", key: a, outcome: "failed", attempts: 1, error: { name: "Interrupted", message: "sent", writeMayHaveHappened: true } });
  journal.record(created(b, "id-b"));
  journal.record(created(a, "id-a"));
  journal.record(created(c, "id-c"));
  await journal.close();
  const reopened = await openJournal(path);
  expect(reopened.outcomeOf("a1", a)).toMatchObject({ outcome: "created", id: "id-a" });
  expect(reopened.outcomeOf("a1", b)).toMatchObject({ id: "id-b" });
  expect(reopened.outcomeOf("a1", c)).toMatchObject({ id: "id-c" });
  expect(reopened.outcomeOf("a1", d)).toBeUndefined();
  reopened.record(created(d, "id-d"));
  reopened.record({ ...created(b, "id-b2") });
  expect(reopened.outcomeOf("a1", d)?.id).toBe("id-d");
  expect(reopened.outcomeOf("a1", b)?.id).toBe("id-b2");
  expect(reopened.outcomeOf("a1", a)?.id).toBe("id-a");
  await reopened.close();
  expect((await readJournal(path)).results.map((r) => r.id).sort()).toEqual(["id-a", "id-b2", "id-c", "id-d"]);
});
