/**
 * No secret in Redis (issue 18): after producers enqueue rows carrying account tokens and a worker
 * delivers them (one failing transiently, one rejected, so every kind of record is written), Redis's
 * AOF is rewritten as plain commands (no RDB preamble, whose compressed strings a search would miss)
 * and searched, with the incremental file of every command sent: neither an account token nor the
 * API key appears in any key or value.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createMergeCrmClient } from "../../src/index.js";
import { createEngagementQueue, startEngagementWorker } from "../../src/queue/index.js";
import { useFakeMerge } from "../support/fake-merge.js";
import { useRedis } from "../support/redis.js";

const redis = useRedis({ aof: true });
const { server } = useFakeMerge("queue-secrets-");
const SECRET = "the secrets test's queue secret";
const TOKENS = ["secret-account-token-alpha-1234", "secret-account-token-beta-5678"];
const API_KEY = "secret-api-key-of-the-worker-9999";

test("after a run, no account token and no API key appear anywhere in Redis's rewritten AOF", async () => {
  let calls = 0;
  server.decide = ({ body }) => (body.includes("refused") ? { status: 422 } : ++calls === 2 ? { status: 503, retryAfter: "0" } : "store");
  const queue = createEngagementQueue({ connection: redis().url, name: "secrets", secret: SECRET });
  const rows = TOKENS.flatMap((accountToken, a) => Array.from({ length: 6 }, (_, i) => ({ accountToken, key: `row-${a}-${i}`, model: { subject: i === 5 ? "refused" : `call ${a}.${i}` } })));
  await queue.enqueueMany(rows);
  const worker = await startEngagementWorker({ client: createMergeCrmClient({ apiKey: API_KEY, baseUrl: server.url }), connection: redis().url, name: "secrets", secret: SECRET, ratePerMinute: 6000, closeOnSignals: false });
  const end = Date.now() + 20_000;
  for (let counts = await queue.counts(); counts.completed + counts.failed < rows.length; counts = await queue.counts()) {
    if (Date.now() > end) throw new Error(`timed out: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await worker.close();
  await queue.close();
  expect(server.posts().map((p) => p.account)).toEqual(expect.arrayContaining(TOKENS)); // the tokens did travel, to Merge only

  await redis().command("CONFIG", "SET", "aof-use-rdb-preamble", "no");
  await redis().command("BGREWRITEAOF");
  for (let i = 0; i < 200 && (await redis().command("INFO", "persistence")).includes("aof_rewrite_in_progress:1"); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const dir = join(redis().dir, "appendonlydir");
  const files = readdirSync(dir);
  const text = files.map((name) => readFileSync(join(dir, name), "latin1")).join("\n");
  expect(files.some((name) => name.includes(".base.aof"))).toBe(true);
  expect(text).toContain("call 1.4"); // the rewrite holds the jobs' data
  for (const secret of [...TOKENS, API_KEY]) expect(text).not.toContain(secret);
}, 40_000);
