/**
 * Broken linked accounts in the fleet: three worker processes (`fleet-worker-process.ts`) on one real
 * Redis, delivering into a local Merge (`FakeMerge`) where two accounts answer every write 403 until
 * they heal mid-run. Their jobs wait in Redis (delayed, not failed), `status --redis --json` lists the
 * accounts with their reason, since when and jobs held, the healthy accounts are written at their rate,
 * and once an account heals its held jobs are all delivered within one probe back-off (and the time
 * to write them at the account's rate), each row exactly once.
 */
import { accountName } from "../../src/delivery/keys.js";
import { createEngagementQueue, type SuspendedQueueAccount } from "../../src/queue/index.js";
import { maxInWindow, useFakeMerge } from "../support/fake-merge.js";
import { rateBetween } from "../support/rates.js";
import { runCli } from "../cli/run-cli.js";
import { useRedis } from "../support/redis.js";
import { interleaved, until, useFleet } from "./fleet-processes.js";

const redis = useRedis();
const { server } = useFakeMerge("fleet-accounts-");
const SECRET = "the fleet accounts test's queue secret";
const RATE = 3_000;
const PROBE_BACKOFF_MS = 2_000;
const HEALTHY = ["acct_ok_one", "acct_ok_two"];
const BROKEN = ["acct_revoked_one", "acct_revoked_two"];
const HEALTHY_ROWS = 500;
const BROKEN_ROWS = 60;
const HEAL_AFTER_MS = 5_000;
const report = (line: string) => process.stdout.write(`${line}\n`);

const fleets = useFleet();




test("two accounts answering 403 until they heal mid-run: their jobs are held in Redis and listed by status --redis; once healed, every held job is delivered within one probe back-off, each row once; the healthy accounts keep their rate", async () => {
  let healedAt = Infinity;
  server.decide = ({ account, at }) => (BROKEN.includes(account) && at < healedAt ? { status: 403 } : "store");
  await redis().command("FLUSHALL");
  const name = `accounts-${Date.now()}`;
  const queue = createEngagementQueue({ connection: redis().url, name, secret: SECRET });
  try {
    await queue.enqueueMany(interleaved({ [HEALTHY[0]!]: HEALTHY_ROWS, [HEALTHY[1]!]: HEALTHY_ROWS, [BROKEN[0]!]: BROKEN_ROWS, [BROKEN[1]!]: BROKEN_ROWS }));
    const fleet = await fleets.start(3, { redisUrl: redis().url, queue: name, baseUrl: server.url, ratePerMinute: RATE, concurrency: 50, transport: "undici", accountHealth: { probeBackoffMs: PROBE_BACKOFF_MS } }, { MERGE_QUEUE_SECRET: SECRET });
    const started = performance.now();

    // While suspended: what a user sees.
    await until(() => performance.now() > started + 3_000, 5_000);
    const [listed, status, text] = await Promise.all([
      queue.suspendedAccounts(),
      runCli(["status", "--redis", redis().url, "--queue", name, "--json"]),
      runCli(["status", "--redis", redis().url, "--queue", name]),
    ]);
    const statusJson = JSON.parse(status.stdout) as { suspended: SuspendedQueueAccount[]; counts: { failed: number; delayed: number } };
    // The accounts heal once status has been seen (5 s in, or when status answered on a slow machine).
    await until(() => performance.now() > started + HEAL_AFTER_MS, HEAL_AFTER_MS, 10);
    healedAt = performance.now();

    const done = await until(() => HEALTHY.every((t) => server.storedFor(t) === HEALTHY_ROWS) && BROKEN.every((t) => server.storedFor(t) === BROKEN_ROWS), 40_000);
    const alive = fleet.workers.every((w) => w.alive());
    const closed = await fleet.stop();
    const counts = await queue.counts();
    const afterwards = await queue.suspendedAccounts();

    const figures = BROKEN.map((token) => {
      const arrivals = server.posts(token);
      const refused = arrivals.filter((a) => a.status === 403).map((a) => a.at);
      const written = arrivals.filter((a) => a.status === 201).map((a) => a.at).sort((a, b) => a - b);
      const lastRefused = Math.max(...refused);
      const firstWritten = written[0] ?? Infinity;
      // The back-off in effect when the account healed: from its last failed probe to the next probe.
      const backoff = firstWritten - lastRefused;
      const lastWritten = written.at(-1) ?? Infinity;
      return { token, refused: refused.length, backoff, probeAfterHeal: firstWritten - healedAt, allAfterHeal: lastWritten - healedAt, requests: arrivals.length };
    });
    const healthy = HEALTHY.map((token) => {
      const seen = new Set<string | undefined>();
      const written = server.posts(token).filter((a) => a.status === 201 && !seen.has(a.idempotencyKey) && seen.add(a.idempotencyKey)).map((a) => a.at).sort((a, b) => a - b);
      const from = started + 1_000;
      const to = from + Math.floor(((written.at(-1) ?? from) - from) / 1_000) * 1_000;
      return { token, steady: rateBetween(written, from, to) * 60, window: (to - from) / 1000 };
    });
    const failing = server.posts().filter((a) => a.status === 403).map((a) => a.at).sort((a, b) => a - b);
    report(
      `fleet accounts: healed at ${(healedAt - started).toFixed(0)} ms; ` +
        figures.map((f) => `${f.token}: ${f.refused} refused, back-off at healing ${f.backoff.toFixed(0)} ms, probe ${f.probeAfterHeal.toFixed(0)} ms and last row ${f.allAfterHeal.toFixed(0)} ms after healing, ${f.requests} requests`).join("; ") +
        `; healthy ${healthy.map((h) => `${h.token} ${h.steady.toFixed(0)}/min over ${h.window} s`).join(", ")}; failing max ${maxInWindow(failing, 10_000)} in 10 s; ` +
        `held by worker ${closed.map((c) => c.stats.held).join("/")}; status listed ${JSON.stringify(statusJson.suspended.map((s) => [s.reason, s.jobsHeld]))}`,
    );

    expect(done).toBe(true);
    expect(alive).toBe(true);
    // What status showed while they were suspended.
    expect(status.code).toBe(0);
    expect(new Set(listed.map((s) => s.account))).toEqual(new Set(BROKEN.map(accountName)));
    expect(statusJson.suspended.map((s) => s.account).sort()).toEqual(BROKEN.map(accountName).sort());
    for (const s of statusJson.suspended) {
      expect(s.reason).toMatch(/^403 Forbidden ×\d+$/);
      expect(Date.parse(s.since)).toBeLessThanOrEqual(Date.now());
      expect(s.jobsHeld).toBeGreaterThan(0);
    }
    expect(statusJson.counts.failed).toBe(0);
    expect(text.stdout).toContain("Suspended linked accounts");
    // Every row once, nothing failed, nothing suspended any more.
    expect(server.stored.size).toBe(2 * HEALTHY_ROWS + 2 * BROKEN_ROWS);
    for (const token of [...HEALTHY, ...BROKEN]) expect(server.storedFor(token)).toBe(token.startsWith("acct_ok") ? HEALTHY_ROWS : BROKEN_ROWS);
    expect(counts).toMatchObject({ failed: 0, waiting: 0, delayed: 0, active: 0 });
    expect(afterwards).toEqual([]);
    // Within one probe back-off of the healing, and the time to write the held rows at the account's rate.
    for (const f of figures) {
      expect(f.probeAfterHeal).toBeLessThanOrEqual(f.backoff + 500);
      expect(f.allAfterHeal).toBeLessThanOrEqual(f.backoff + (BROKEN_ROWS / RATE) * 60_000 + 1_500);
    }
    expect(maxInWindow(failing, 10_000)).toBeLessThanOrEqual(20);
    for (const h of healthy) expect(h.steady).toBeGreaterThanOrEqual(0.95 * RATE);
  } finally {
    await queue.close();
  }
}, 90_000);
