/**
 * The pacing and failure guard tests of the importer, at library level, against a local Merge that answers
 * 429 beyond each linked account's rate (and 400 to everything, for the guard). The short variants run
 * in `npm test`; `npm run test:bulk:long` runs the issue's full sizes (1,500 rows per account, and a
 * mixed run long enough for the guard to hold sends back).
 */
import { join } from "node:path";
import { bulkCreate, readJournal, type BulkRow } from "../../src/bulk/index.js";
import { accountName } from "../../src/delivery/keys.js";
import { createMergeCrmClient, type Logger } from "../../src/index.js";
import { maxInWindow, perAccountLimit, useFakeMerge, type Arrival } from "../support/fake-merge.js";
import { perMinute } from "../support/rates.js";

const LONG = process.env.BULK_LONG === "1";
/**
 * The share of the rate the short run must reach. The target is 95% (`npm run test:bulk:long` holds
 * the run to it); over the short run's 6 s, one stall of half a second on a loaded machine costs 5%
 * (a fresh-clone CI run saw 94.9%), so `npm test` asks for 90%.
 */
const MIN_SHARE = LONG ? 0.95 : 0.9;
const { server, dir } = useFakeMerge("bulk-pacing-");

const quiet: Logger = {};
const client = () => createMergeCrmClient({ apiKey: "sk_pacing", baseUrl: server.url, logger: quiet });

function* interleaved(perAccount: Record<string, number>): Generator<BulkRow> {
  const most = Math.max(...Object.values(perAccount));
  for (let i = 0; i < most; i++) {
    for (const [token, count] of Object.entries(perAccount)) {
      if (i < count) yield { model: { subject: `Call ${i} of ${token}`, direction: "OUTBOUND" }, accountToken: token, key: `${token}-${i}` };
    }
  }
}

const report = (line: string) => process.stdout.write(`${line}\n`);

test(`pacing: 3000/min, two accounts × ${LONG ? "1,500" : "300"} rows sustain ≥ ${LONG ? 95 : 90}% of the rate with ≤ 1% 429s while a third is throttled with Retry-After`, async () => {
  const RATE = 3_000;
  const ROWS = LONG ? 1_500 : 300;
  const allow = perAccountLimit(RATE);
  // The third account is throttled from 1 s to 3 s into the run (after the start, whose burst of
  // validation work delays when answers are read).
  const start = performance.now();
  server.decide = ({ account, at }) => {
    if (account === "acct_throttled" && at > start + 1_000 && at < start + 3_000) return { status: 429, retryAfter: "1" };
    return allow(account, at) ? "store" : { status: 429, retryAfter: "1" };
  };
  // What the client did for the throttled account: when each write left, and when the pacer paused it
  // (its info line). The server's arrival times cannot say this: on a loaded machine a 429 is read some
  // time after it was answered, and the writes sent meanwhile were sent before the pause.
  const throttledName = accountName("acct_throttled");
  const sends: number[] = [];
  const pauses: Array<{ at: number; ms: number }> = [];
  const fetch = (request: Request) => {
    if (request.headers.get("x-account-token") === "acct_throttled") sends.push(performance.now());
    return globalThis.fetch(request);
  };
  const logger: Logger = {
    info: (message) => {
      const paused = new RegExp(`^Account ${throttledName}: 429, paused (\\d+) ms`).exec(message);
      if (paused) pauses.push({ at: performance.now(), ms: Number(paused[1]) });
    },
  };
  const merge = createMergeCrmClient({ apiKey: "sk_pacing", baseUrl: server.url, logger: quiet, fetch });
  const summary = await bulkCreate(merge, interleaved({ acct_one: ROWS, acct_two: ROWS, acct_throttled: 60 }), {
    ratePerMinute: RATE,
    journal: join(dir(), "pacing.journal"),
    logger,
  });

  for (const account of ["acct_one", "acct_two"]) {
    const arrivals = server.posts(account);
    const times = arrivals.map((a) => a.at).sort((a, b) => a - b);
    const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
    const rate = perMinute(times);
    const refused = arrivals.filter((a) => a.status === 429).length;
    const stored = [...server.stored.values()].filter((s) => s.account === account).length;
    report(`pacing ${account}: ${arrivals.length} requests in ${(span / 1000).toFixed(2)} s = ${rate.toFixed(0)}/min (${((rate / RATE) * 100).toFixed(1)}% of ${RATE}), ${refused} answered 429, max ${maxInWindow(times, 10_000)} in 10 s`);
    expect(stored).toBe(ROWS);
    expect(rate).toBeGreaterThanOrEqual(MIN_SHARE * RATE);
    expect(rate).toBeLessThanOrEqual(1.1 * RATE); // over 6 s; a late start made up shortens the span
    expect(refused).toBeLessThanOrEqual(0.01 * arrivals.length);
    expect(maxInWindow(times, 10_000)).toBeLessThanOrEqual((RATE / 6) * 1.1);
  }

  // The throttled account: each 429 is honoured (from the moment the client reads it, nothing more from
  // that account for Retry-After's 1 s) and it gets through later.
  const throttled = server.posts("acct_throttled");
  const refusals = throttled.filter((a) => a.status === 429);
  report(`pacing acct_throttled: ${throttled.length} requests, ${refusals.length} answered 429, ${pauses.length} pauses; summary ${JSON.stringify(summary)}`);
  report(`  its arrivals (ms into the run:status): ${throttled.map((a) => `${(a.at - start).toFixed(0)}:${a.status}`).join(" ")}`);
  report(`  its pauses (ms into the run, for ms): ${pauses.map((p) => `${(p.at - start).toFixed(0)} for ${p.ms}`).join(", ")}`);
  expect(refusals.length).toBeGreaterThan(0);
  expect(pauses.length).toBe(refusals.length);
  for (const pause of pauses) {
    expect(pause.ms).toBe(1_000); // Retry-After: 1
    const tooSoon = sends.filter((at) => at > pause.at && at < pause.at + pause.ms - 30);
    expect(tooSoon).toEqual([]);
  }
  expect(summary.created).toBe(2 * ROWS + 60);
}, 120_000);

test("failure guard: a server answering 400 to every write gets at most 20 failing requests in any 10 s, the run stops by itself and the rows sent are recorded", async () => {
  server.decide = () => ({ status: 400 });
  const journal = join(dir(), "guard.journal");
  const started = performance.now();
  const summary = await bulkCreate(client(), interleaved({ acct_one: 500, acct_two: 500 }), { ratePerMinute: 60_000, journal, concurrency: 64 });
  const elapsed = performance.now() - started;
  const times = server.posts().map((a: Arrival) => a.at).sort((a, b) => a - b);
  report(`failure guard (all 400): ${times.length} requests, max ${maxInWindow(times, 10_000)} in 10 s, stopped after ${elapsed.toFixed(0)} ms: ${summary.stopped}`);
  expect(maxInWindow(times, 10_000)).toBeLessThanOrEqual(20);
  expect(summary.stopped).toMatch(/^failure guard: the last 20 requests all failed \(400 Bad Request ×20\)/);
  expect(summary).toMatchObject({ rows: 20, rejected: 20, created: 0 });
  const { counts } = await readJournal(journal);
  expect(counts).toMatchObject({ rejected: 20, created: 0, failed: 0 });
});

(LONG ? test : test.skip)("failure guard, long: two rows in three fail (400, 500); over 30 s the run goes on and no 10 s window holds more than 20 failures", async () => {
  let n = 0;
  server.decide = () => (n++ % 3 === 0 ? "store" : n % 2 === 0 ? { status: 400 } : { status: 500 });
  const summary = await bulkCreate(client(), interleaved({ acct_one: 60, acct_two: 60 }), { ratePerMinute: 60_000, maxAttempts: 1 });
  const failing = server.posts().filter((a) => a.status >= 400 && a.status !== 429).map((a) => a.at).sort((a, b) => a - b);
  report(`failure guard (mixed): ${server.posts().length} requests, ${failing.length} failing, max ${maxInWindow(failing, 10_000)} failing in 10 s; ${JSON.stringify(summary)}`);
  expect(maxInWindow(failing, 10_000)).toBeLessThanOrEqual(20);
  expect(summary.stopped).toBeUndefined();
  expect(summary.rows).toBe(120);
}, 120_000);
