/**
 * Issue 17: many linked accounts at full rate, against a local Merge that answers writes after about a
 * second (the CRM behind Merge answering), with the adaptive failure guard in front of Merge's global
 * limit (more than 20 failing requests in 10 s). The three cases of the issue, short in `npm test`:
 * - healthy: far more than the strict guard's 20 requests in flight, every row written once (the rate
 *   itself is reported, not asserted: the machine is shared; `npm run bench:bulk` holds it to its target);
 * - mixed: one row in five refused with 400 after 1 s: never more than 20 failing requests in 10 s;
 * - sudden: healthy, then every new write answered 401 within 20 ms (a revoked key): never more than 20
 *   failing requests in 10 s, and the run stops by itself (through the CLI: exit code 1, journal
 *   consistent with the server).
 * The short variants use 10 linked accounts (100 writes/s wanted), light enough to share the machine with
 * the rest of `npm test`; `npm run test:bulk:long` runs the sizes (50 accounts × 200 rows,
 * mixed for 40 s over 30 accounts, sudden over 30 accounts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bulkCreate, readJournal, type BulkRow } from "../../src/bulk/index.js";
import { createMergeCrmClient, type Logger } from "../../src/index.js";
import { OPEN_META, runCli } from "../cli/run-cli.js";
import { seeded } from "../support/seeded.js";
import { maxInWindow, useFakeMerge } from "../support/fake-merge.js";
import { perMinute, steadyRate } from "../support/rates.js";

const LONG = process.env.BULK_LONG === "1";
const RATE = 600;
const { server, dir } = useFakeMerge("bulk-latency-");

const quiet: Logger = {};
const client = () => createMergeCrmClient({ apiKey: "sk_latency", baseUrl: server.url, logger: quiet });
const report = (line: string) => process.stdout.write(`${line}\n`);
/** About a second, ±20%: a CRM answering Merge. */
const aboutASecond = (random: () => number) => () => 800 + 400 * random();

/** `accounts` linked accounts × `perAccount` rows, interleaved; every `refuseEvery`th row is marked for refusal. */
function* rows(accounts: number, perAccount: number, refuseEvery = 0): Generator<BulkRow> {
  for (let i = 0; i < perAccount; i++) {
    for (let a = 0; a < accounts; a++) {
      const n = i * accounts + a;
      // Spread over the accounts (row i of account a): every account has one row in five refused. (By n
      // alone, with 10 accounts, two accounts would have every row refused: broken accounts, suspended.)
      const refuse = refuseEvery > 0 && (i + a) % refuseEvery === refuseEvery - 1;
      yield { model: { subject: `${refuse ? "refuse" : "call"} ${i}`, direction: "OUTBOUND" }, accountToken: `acct-${a}`, key: `row-${n}` };
    }
  }
}

const failing = () => server.posts().filter((a) => a.status >= 400 && a.status !== 429);
const times = (arrivals: readonly { at: number }[]) => arrivals.map((a) => a.at).sort((x, y) => x - y);

test(`healthy: ${LONG ? "50 accounts × 200" : "10 accounts × 100"} rows at 600/min, 1 s answers: far more in flight than strict's 20, every row written once`, async () => {
  const accounts = LONG ? 50 : 10;
  const perAccount = LONG ? 200 : 100;
  const wanted = (accounts * RATE) / 60;
  server.delay = aboutASecond(seeded(17));
  const started = performance.now();
  const summary = await bulkCreate(client(), rows(accounts, perAccount), { ratePerMinute: RATE, journal: join(dir(), "healthy.journal") });
  const elapsed = (performance.now() - started) / 1000;

  const steady = steadyRate(times(server.posts()), 5_000);
  const slowest = Math.min(...Array.from({ length: accounts }, (_, a) => perMinute(times(server.posts(`acct-${a}`)))));
  report(
    `healthy: ${summary.created} created in ${elapsed.toFixed(1)} s; ${steady.toFixed(1)} writes/s after 5 s (${((steady / wanted) * 100).toFixed(1)}% of ${wanted}); ` +
      `slowest account ${slowest.toFixed(0)}/min (${((slowest / RATE) * 100).toFixed(1)}%); peak ${server.peakInFlight} in flight`,
  );
  expect(summary).toMatchObject({ rows: accounts * perAccount, created: accounts * perAccount, failed: 0, rejected: 0 });
  expect(server.stored.size).toBe(accounts * perAccount);
  expect(server.posts().length).toBe(accounts * perAccount); // no write sent twice
  // Bounds a shared machine keeps by far (the strict guard: at most 20 in flight, 20 writes a second).
  expect(server.peakInFlight).toBeGreaterThan(Math.max(60, wanted / 2));
  expect(steady).toBeGreaterThan(Math.max(40, wanted / 2));
  const { counts } = await readJournal(join(dir(), "healthy.journal"));
  expect(counts).toMatchObject({ created: accounts * perAccount, failed: 0 });
}, 120_000);

test(`mixed: one row in five refused with 400 after 1 s, ${LONG ? 30 : 10} accounts at 600/min for ${LONG ? 40 : 14} s: never more than 20 failing requests in any 10 s`, async () => {
  const random = seeded(5);
  server.delay = aboutASecond(random);
  server.decide = ({ body }) => (body.includes('"refuse ') ? { status: 400 } : "store");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), LONG ? 40_000 : 14_000);
  const summary = await bulkCreate(client(), rows(LONG ? 30 : 10, 1_000, 5), { ratePerMinute: RATE, signal: controller.signal });
  clearTimeout(timer);
  const failures = times(failing());
  const most = maxInWindow(failures, 10_000);
  report(`mixed: ${server.posts().length} requests, ${failures.length} refused, at most ${most} failing in any 10 s; ${JSON.stringify(summary)}`);
  expect(most).toBeLessThanOrEqual(20);
  expect(summary.stopped).toBe("aborted"); // the guard held sends back; it did not stop the run
  expect(summary.rejected).toBe(failures.length);
  expect(summary.created).toBeGreaterThan(failures.length); // four in five of what was sent went through
}, 120_000);

test(`sudden: healthy for 8 s (${LONG ? 30 : 10} accounts at 600/min, 1 s answers), then every new write answered 401 within 20 ms: at most 20 failing in any 10 s, the CLI stops by itself with exit 1, the journal agrees with the server`, async () => {
  const accounts = LONG ? 30 : 10;
  const random = seeded(401);
  server.meta = JSON.parse(OPEN_META);
  let revokedAt = Infinity;
  server.decide = ({ at }) => (at >= revokedAt ? { status: 401 } : "store");
  server.delay = (status) => (status === 401 ? 20 * random() : 800 + 400 * random());
  const file = join(dir(), "rows.ndjson");
  const journal = join(dir(), "rows.journal");
  const lines: string[] = [];
  for (const row of rows(accounts, 200)) lines.push(JSON.stringify({ model: row.model, account_token: row.accountToken, key: row.key }));
  writeFileSync(file, `${lines.join("\n")}\n`);
  const revoke = setTimeout(() => (revokedAt = performance.now()), 8_000);
  const run = await runCli(["import", file, "--base-url", server.url, "--rate", String(RATE), "--journal", journal, "--json"], { MERGE_API_KEY: "sk_sudden" });
  clearTimeout(revoke);
  const failures = times(failing());
  const most = maxInWindow(failures, 10_000);
  const summary = JSON.parse(run.stdout) as { created: number; failed: number; rejected: number; stopped?: string };
  report(`sudden: exit ${run.code}; ${server.stored.size} stored before the revocation, ${failures.length} answered 401, at most ${most} in any 10 s; stopped: ${summary.stopped}`);
  expect(run.code).toBe(1);
  expect(most).toBeLessThanOrEqual(20);
  // Every account that had worked answering 401 at once: the key, not the accounts (three of them suffice).
  expect(summary.stopped).toMatch(/^failure guard: the last \d+ requests all failed \(401 Unauthorized ×\d+\) on \d+ linked accounts that had worked, at once/);
  expect(server.stored.size).toBeGreaterThan(accounts * 30); // 8 s at 10 writes/s an account, less the ramp (strict: 160 in all)
  const { counts, results: recorded } = await readJournal(journal);
  // The journal agrees with the server: what it calls created is stored, and the rows refused with 401
  // are held (sent again by the next run, with a working key), not rejected.
  expect(counts.created).toBe(server.stored.size);
  expect(counts.rejected).toBe(0);
  expect(counts.failed).toBe(0);
  expect(recorded.filter((r) => r.outcome === "held" && r.error?.status === 401)).toHaveLength(failures.length);
  const storedKeys = new Set(server.stored.keys());
  expect(storedKeys.size).toBe(summary.created);
}, 120_000);
