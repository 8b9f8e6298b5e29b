/**
 * The fleet's gate (src/queue/gate.ts and its Lua scripts) against a real Redis, one rule at a time:
 * starts reserved on the account's schedule and never more than 105% of a sixth of the rate in 10 s;
 * a 429 pausing the account for every gate; the failure guard's bounds (strict: 20 unanswered; adaptive:
 * the probation after a failure); the hold after 20 failures in a row; a dead worker's requests dropped.
 */
import { Redis } from "ioredis";
import type { Admission, SendGate, SendPermit } from "../../src/delivery/deliver-row.js";
import { HEALTH_DEFAULTS } from "../../src/delivery/account-health.js";
import { redisGate } from "../../src/queue/gate.js";
import { useRedis } from "../support/redis.js";

let redis: Redis;
// Declared before useRedis: jest runs afterAll hooks in the order declared, so the client quits before its server stops.
afterAll(async () => {
  await redis.quit();
});
const server = useRedis();
beforeAll(() => {
  redis = new Redis(server().url);
});
beforeEach(() => redis.flushall());

function gate(worker: string, options: { rate?: number; mode?: "adaptive" | "strict"; warnings?: string[]; probeBackoffMs?: number; resumed?: string[] } = {}): SendGate {
  const warnings = options.warnings;
  const health = { ...HEALTH_DEFAULTS, probeBackoffMs: options.probeBackoffMs ?? HEALTH_DEFAULTS.probeBackoffMs };
  const onResumed = (account: string) => options.resumed?.push(account);
  return redisGate(redis, { ratePerMinute: options.rate ?? 600_000, mode: options.mode ?? "adaptive", scope: "test", worker, health, onResumed, logger: warnings && { warn: (m) => warnings.push(m) } }, () => false);
}

/** Accounts that have had a write succeed (past their probation: more than one write in flight). */
async function established(...accounts: string[]): Promise<void> {
  for (const account of accounts) await redis.hset(`mce:health:${account}`, "ok", 1);
}

async function send(g: SendGate, account = "acct"): Promise<SendPermit> {
  const admission: Admission = await g.admit(account);
  if (admission.kind !== "send") throw new Error(`not admitted: ${JSON.stringify(admission)}`);
  return admission.permit;
}

test("pacing: starts a rate's interval apart, shared by two gates of one account, and another account's are its own", async () => {
  const a = gate("w1", { rate: 600 });
  const b = gate("w2", { rate: 600 });
  await established("acct", "another");
  const sentAt: number[] = [];
  await Promise.all(Array.from({ length: 8 }, (_, i) => send(i % 2 ? a : b).then((p) => sentAt.push(p.sentAt))));
  // The schedule in Redis: starts 100 ms apart (600/min), whichever gate reserved them.
  const starts = (await redis.lrange("mce:pace:acct:starts", 0, -1)).map(Number);
  expect(starts).toHaveLength(8);
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0));
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(99);
  // The sends themselves follow it (a timer may wake late, never early).
  expect(Math.max(...sentAt) - Math.min(...sentAt)).toBeGreaterThanOrEqual(690);
  const other = performance.now();
  await send(a, "another");
  expect(performance.now() - other).toBeLessThan(80);
});

test("pacing: a start further ahead than the horizon is refused (the job waits in Redis), then granted when due", async () => {
  const g = gate("w1", { rate: 30 }); // one every 2 s
  await established("acct");
  await send(g);
  const later = await g.admit("acct");
  expect(later.kind).toBe("later");
  if (later.kind === "later") expect(later.untilMs - Date.now()).toBeGreaterThan(900);
});

test("a 429 seen by one gate pauses the account for every gate, and halves its rate", async () => {
  const a = gate("w1", { rate: 6000 });
  const b = gate("w2", { rate: 6000 });
  const permit = await send(a);
  await permit.settle("neutral");
  await permit.throttled(5_000);
  const admission = await b.admit("acct");
  expect(admission.kind).toBe("later");
  if (admission.kind === "later") expect(admission.untilMs - Date.now()).toBeGreaterThan(4_000);
  expect(Number(await redis.hget("mce:pace:acct", "rate"))).toBe(3000);
});

test("strict: never more than 20 unanswered in the window, over every gate", async () => {
  const gates = [gate("w1", { mode: "strict" }), gate("w2", { mode: "strict" })];
  const permits: SendPermit[] = [];
  for (let i = 0; i < 20; i++) permits.push(await send(gates[i % 2]!, `acct${i}`));
  const started = Date.now();
  const refused = await gates[0]!.admit("acct-x");
  expect(refused.kind).toBe("later"); // held in the worker a while, then handed back
  expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  await permits[0]!.settle("success");
  expect((await gates[1]!.admit("acct-y")).kind).toBe("send");
}, 15_000);

test("adaptive: a failure starts a probation; nothing more is sent while a suspect is unanswered", async () => {
  const g = gate("w1");
  // 200 successes: the failure rate's estimate is low enough for 30 in flight, beyond the strict bound.
  for (let i = 0; i < 200; i++) await (await send(g, `warm${i % 50}`)).settle("success");
  await established(...Array.from({ length: 30 }, (_, i) => `acct${i}`));
  const early = await Promise.all(Array.from({ length: 30 }, (_, i) => send(g, `acct${i}`)));
  await early[0]!.settle("failure", "500 Internal Server Error");
  // 29 unanswered, sent after the failed one: suspects, each counted as a failure; the probation holds
  // new sends until they are answered.
  const held = await g.admit("acct-new");
  expect(held.kind).toBe("later");
  for (const permit of early.slice(1)) await permit.settle("success");
  expect((await g.admit("acct-new")).kind).toBe("send");
}, 15_000);

test("adaptive: after a 401 from an account that worked (a revoked key, perhaps), every unanswered request counts as a failure over every gate until one sent after it succeeds", async () => {
  const a = gate("w1");
  const b = gate("w2");
  for (let i = 0; i < 200; i++) await (await send(a, `warm${i % 50}`)).settle("success");
  await established(...Array.from({ length: 30 }, (_, i) => `acct${i}`), "acct-revoked");
  const early = await Promise.all(Array.from({ length: 30 }, (_, i) => send(i % 2 ? a : b, `acct${i}`)));
  await (await send(a, "acct-revoked")).settle("failure", "401 Unauthorized", "account");
  // 1 failure and 30 unanswered: held, though the failure rate would let more go.
  expect((await b.admit("acct-new")).kind).toBe("later");
  for (const permit of early.splice(0, 11)) await permit.settle("success"); // sent before the 401: they prove nothing
  expect((await b.admit("acct-new")).kind).toBe("later"); // 1 + 19 unanswered: 20, were they all to fail
  await early.shift()!.settle("success");
  const after = await send(b, "acct-new"); // 1 + 18 + this one
  await after.settle("success"); // sent after the 401: the key works
  const more = await Promise.all(Array.from({ length: 10 }, (_, i) => send(a, `acct${i}`)));
  expect(more).toHaveLength(10); // 1 failure + 27 unanswered, let through on the failure rate again
  for (const permit of [...early, ...more]) await permit.settle("success");
}, 15_000);

test("20 failures in a row: a warning, sends held, then a probe that starts a back-off; its success ends the run", async () => {
  const warnings: string[] = [];
  const g = gate("w1", { warnings });
  for (let i = 0; i < 20; i++) {
    const permit = await send(g, `acct${i}`);
    await permit.settle("failure", "400 Bad Request");
  }
  expect(Number(await redis.zcard("mce:guard:test:r"))).toBe(20);
  expect(warnings.some((w) => w.includes("last 20 requests all failed"))).toBe(true);
  // The window holds 20 failures: nothing may go until they leave it (12 s).
  expect((await g.admit("acct-probe")).kind).toBe("later");
  // A success of a request sent after them (one let through by an earlier window, faked here) ends the run.
  await redis.zremrangebyscore("mce:guard:test:f", "-inf", "+inf");
  const probe = await send(g, "acct-probe");
  expect(Number(await redis.hget("mce:guard:test", "holdUntil"))).toBeGreaterThan(0); // the probe started a hold
  await probe.settle("success");
  expect(await redis.zcard("mce:guard:test:r")).toBe(0);
  expect(await redis.hget("mce:guard:test", "holdUntil")).toBeNull();
}, 15_000);

test("a worker that stops beating its heart has its unanswered requests dropped", async () => {
  const dead = gate("dead", { mode: "strict" });
  for (let i = 0; i < 20; i++) await send(dead, `acct${i}`);
  await redis.zadd("mce:guard:test:w", Date.now() - 60_000, "dead");
  await redis.hset("mce:guard:test", "reapedAt", 0);
  const alive = gate("alive", { mode: "strict" });
  expect((await alive.admit("acct-z")).kind).toBe("send");
  expect(await redis.zcard("mce:guard:test:ps")).toBe(1);
});

test("a new account has one write in flight until one succeeds: the others wait for its answer in the worker, then go; unanswered for 3 s, they go back to Redis", async () => {
  const g = gate("w1", { rate: 600 });
  const first = await send(g, "acct-new");
  const second = g.admit("acct-new");
  await new Promise((resolve) => setTimeout(resolve, 300));
  await first.settle("success");
  expect((await second).kind).toBe("send");
  // Established: several in flight at once.
  await send(g, "acct-new");
  await send(g, "acct-new");
  // Another new account whose first write is never answered (its worker died, or a slow CRM).
  await send(g, "acct-silent");
  const started = Date.now();
  const waited = await g.admit("acct-silent");
  expect(waited).toMatchObject({ kind: "later", reason: "its account's first write is in flight" });
  expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
}, 15_000);

test("a 403 suspends the account over every gate: its sends are held until the probe, the probe's failure doubles the back-off, its success resumes the account", async () => {
  const resumed: string[] = [];
  const a = gate("w1", { probeBackoffMs: 300, resumed });
  const b = gate("w2", { probeBackoffMs: 300, resumed });
  await established("acct");
  const answer = await (await send(a)).settle("failure", "403 Forbidden", "account");
  expect(answer).toEqual({ suspended: { reason: "403 Forbidden ×1", since: expect.any(Number), untilMs: expect.any(Number) } });
  const held = await b.admit("acct");
  expect(held).toMatchObject({ kind: "held", reason: "403 Forbidden ×1" });
  expect(Number(await redis.zscore("mce:health:suspended", "acct"))).toBeGreaterThan(0);
  // Its failure was the account's: the guard holds nobody else.
  await establishedSend(b, "other");
  // After the back-off: one probe, and only one.
  await new Promise((resolve) => setTimeout(resolve, 320));
  const probe = await send(b);
  expect((await a.admit("acct")).kind).toBe("held");
  const failedProbe = await probe.settle("failure", "403 Forbidden", "account");
  expect(failedProbe).toMatchObject({ suspended: { reason: "403 Forbidden ×2" } });
  const again = await a.admit("acct");
  if (again.kind !== "held") throw new Error(`not held: ${again.kind}`);
  expect(again.untilMs - Date.now()).toBeGreaterThan(450); // doubled: 600 ms
  await new Promise((resolve) => setTimeout(resolve, 620));
  const healed = await (await send(a)).settle("success");
  expect(healed).toEqual({ suspended: undefined });
  expect(resumed).toEqual(["acct"]);
  expect(await redis.zscore("mce:health:suspended", "acct")).toBeNull();
  await send(b);
});

test("400s in a row from one account while another succeeds suspend it after 3; alone they do not", async () => {
  const g = gate("w1");
  await established("acct", "fine");
  // Answers enough that 3 in a row is a one-in-a-million run at their failure rate (6 in 1,010).
  for (let i = 0; i < 1_000; i++) await (await send(g, `warm${i % 50}`)).settle("success");
  for (let i = 0; i < 2; i++) expect(await (await send(g)).settle("failure", "400 Bad Request", "row")).toEqual({ suspended: undefined });
  // No other account has succeeded since the first of them: the row's, not the account's.
  expect(await (await send(g)).settle("failure", "400 Bad Request", "row")).toEqual({ suspended: undefined });
  await (await send(g, "fine")).settle("success");
  await redis.hset("mce:health:acct", "streak", 0);
  for (let i = 0; i < 2; i++) await (await send(g)).settle("failure", "400 Bad Request", "row");
  await (await send(g, "fine")).settle("success");
  const third = await (await send(g)).settle("failure", "400 Bad Request", "row");
  expect(third).toMatchObject({ suspended: { reason: "400 Bad Request ×3" } });
});

async function establishedSend(g: SendGate, account: string): Promise<void> {
  await established(account);
  const started = performance.now();
  await (await send(g, account)).settle("success");
  expect(performance.now() - started).toBeLessThan(500);
}
