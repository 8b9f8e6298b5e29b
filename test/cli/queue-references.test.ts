/**
 * `enqueue` with reference columns and `--missing-contacts`, then a `worker`, as a user runs them (child
 * processes against a real redis-server and the fake Merge holding each account's directory): the producer
 * refuses a malformed reference by line and pointer, the worker resolves the others with the ids of each
 * row's account, creates a missing contact once, and rejects an ambiguous row with its pointer.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEngagementQueue } from "../../src/queue/index.js";
import { id, referenceDirectory } from "../support/reference-directory.js";
import { useRedis } from "../support/redis.js";
import { runCli, startCli, useCliFixture } from "./run-cli.js";

const SECRET = "a-queue-secret-for-the-cli-references-test";
const KEY = { MERGE_API_KEY: "queue-references-cli-api-key" };
const A = "secret-token-of-references-account-a";
const B = "secret-token-of-references-account-b";

const redis = useRedis();
const { server, dir } = useCliFixture("cli-queue-references-");
beforeEach(async () => {
  await redis().command("FLUSHALL");
  server.setDirectory(A, referenceDirectory(0));
  server.setDirectory(B, referenceDirectory(100));
});

const writes = () => server.arrivals.filter((a) => a.method === "POST" && a.url.startsWith("/crm/v1/engagements"));
const sentBySubject = () => Object.fromEntries(writes().map((a) => JSON.parse(a.body).model).map((model) => [model.subject, model]));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("enqueue a CSV with reference columns and --missing-contacts create, a worker delivers: each account's ids, one contact created for its rows, an ambiguous row rejected by pointer; a malformed one never enters", async () => {
  const file = join(dir(), "calls.csv");
  writeFileSync(
    file,
    [
      "key,account_token,subject,contacts.email,contacts.remote_id,owner.email,owner.remote_id,account.name,account.remote_id,engagement_type.activity_type,engagement_type.name",
      `r1,${A},new 1,New.Person@example.com;ADA@example.com,,rep@example.com,,acme inc,,CALL,`,
      `r2,${A},new 2,New.Person@example.com,c-grace,,u-rep,,a-acme,,Cold call`,
      `r3,${A},new 3,New.Person@example.com,,,,,,,`,
      `r4,${B},b,g.hopper@example.org,,REP@example.com,,,,CALL,`,
      `r5,${A},ambiguous,info@example.com,,,,Globex,,,`,
      `r6,${A},malformed,,,rep@example.com,u-rep,,,,`,
    ].join("\n") + "\n",
  );
  const env = { MERGE_QUEUE_SECRET: SECRET };
  const enqueued = await runCli(["enqueue", file, "--redis", redis().url, "--missing-contacts", "create", "--json"], env);
  expect(enqueued.code).toBe(1);
  expect(JSON.parse(enqueued.stdout)).toMatchObject({ rows: 6, queued: 5, rejected: 1, rejectedRows: [{ line: 7, key: "r6", problems: [expect.objectContaining({ pointer: "/model/owner" })] }] });
  expect(enqueued.stderr).toMatch(/^ {2}line 7, key r6: \/model\/owner /m);
  expect(server.arrivals).toHaveLength(0); // the producer looks nothing up

  const worker = startCli(["worker", "--redis", redis().url, "--base-url", server.url, "--rate", "6000"], { ...KEY, ...env });
  const queue = createEngagementQueue({ connection: redis().url });
  try {
    await until("4 jobs completed and 1 failed", async () => {
      const counts = await queue.counts();
      return counts.completed === 4 && counts.failed === 1;
    });
    const failed = await queue.failedJobs();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ key: "r5", line: 6 });
    expect(failed[0]?.reason).toMatch(/^Rejected: \/model\/account 2 matches .*; \/model\/contacts\/0 2 matches/);
  } finally {
    await queue.close();
  }
  worker.child.kill("SIGTERM");
  const stopped = await worker.done;
  expect(stopped.code).toBe(0);
  expect(stopped.stderr).toMatch(/rejected \(line 6, key r5, job mce-[0-9a-f-]+\): .*\/model\/account/);
  expect(stopped.stderr).toMatch(/Worker stopped: delivered 5 \(created 4, done before 0, rejected 1, failed 0\)/);

  // One contact for the three rows of account A that name the unknown email.
  expect(server.storedContacts.size).toBe(1);
  const creates = server.contactCreates();
  expect(creates.every((a) => a.account === A && a.status === 201)).toBe(true);
  expect(new Set(creates.map((a) => a.idempotencyKey)).size).toBe(1);
  const [contact] = [...server.storedContacts.values()];
  expect(JSON.parse(contact?.body ?? "{}").model).toEqual({ email_addresses: [{ email_address: "new.person@example.com" }] });
  expect(sentBySubject()).toEqual({
    "new 1": { subject: "new 1", contacts: [contact?.id, id(1)], owner: id(11), account: id(21), engagement_type: id(31) },
    "new 2": { subject: "new 2", contacts: [contact?.id, id(2)], owner: id(11), account: id(21), engagement_type: id(32) },
    "new 3": { subject: "new 3", contacts: [contact?.id] },
    b: { subject: "b", contacts: [id(102)], owner: id(111), engagement_type: id(131) },
  });
  for (const run of [enqueued, stopped]) expect(`${run.stdout}${run.stderr}`).not.toMatch(/secret-token|queue-secret|api-key/);
}, 60_000);

test("enqueue --missing-contacts maybe: exit 2 naming the flag, nothing enqueued", async () => {
  const file = join(dir(), "one.csv");
  writeFileSync(file, `account_token,subject,contacts.email\n${A},x,ada@example.com\n`);
  const run = await runCli(["enqueue", file, "--redis", redis().url, "--missing-contacts", "maybe"], { MERGE_QUEUE_SECRET: SECRET });
  expect(run.code).toBe(2);
  expect(run.stderr).toContain("--missing-contacts must be reject, omit or create (got 'maybe')");
  expect(await redis().command("DBSIZE")).toBe("0");
});
