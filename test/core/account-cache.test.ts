import { accountKey, createAccountSchemaCache } from "../../src/core/validation/account-validation.js";
import type { MetaResponse } from "../../src/index.js";
import { createMergeCrmClient } from "../../src/index.js";
import { CREATED, json, recordingFetch } from "./helpers.js";

const META: MetaResponse = {
  request_schema: { type: "object", properties: { model: { type: "object", required: ["subject"] } } },
  has_conditional_params: false,
  has_required_linked_account_params: false,
};

test("100,000 distinct linked accounts leave the cache at its bound", async () => {
  const cache = createAccountSchemaCache({ ttlMs: 60_000, maxEntries: 1_000, logger: {} });
  let loads = 0;
  for (let i = 0; i < 100_000; i++) {
    await cache.get(accountKey("post", "https://api.merge.dev/api", `token-${i}`), "meta", async () => {
      loads++;
      return META;
    });
    if (cache.size > 1_000) throw new Error(`cache grew to ${cache.size}`);
  }
  expect(loads).toBe(100_000);
  expect(cache.size).toBe(1_000);
});

test("the least recently used account is the one dropped", async () => {
  const cache = createAccountSchemaCache({ ttlMs: 60_000, maxEntries: 2, logger: {} });
  let loads = 0;
  const load = async () => {
    loads++;
    return META;
  };
  await cache.get("a", "meta", load);
  await cache.get("b", "meta", load);
  await cache.get("a", "meta", load); // a is now the most recent
  await cache.get("c", "meta", load); // drops b
  expect(loads).toBe(3);
  await cache.get("a", "meta", load);
  expect(loads).toBe(3);
  await cache.get("b", "meta", load);
  expect(loads).toBe(4);
});

test("a failure is retried after a back-off that doubles, reported at warn once and at debug after", async () => {
  let now = 0;
  const said: string[] = [];
  const cache = createAccountSchemaCache({
    ttlMs: 60_000,
    maxEntries: 10,
    now: () => now,
    logger: { warn: (m) => void said.push(`warn ${m}`), debug: (m) => void said.push(`debug ${m}`) },
  });
  let loads = 0;
  const failing = async (): Promise<MetaResponse> => {
    loads++;
    throw new Error("down");
  };
  await cache.get("k", "meta", failing);
  now = 4_999;
  await cache.get("k", "meta", failing);
  expect(loads).toBe(1);
  now = 5_000;
  await cache.get("k", "meta", failing); // second failure: next try 10 s later
  now = 14_999;
  await cache.get("k", "meta", failing);
  expect(loads).toBe(2);
  now = 15_000;
  const entry = await cache.get("k", "meta", async () => META);
  expect(entry.schema?.canMakeRequest).toBe(true);
  expect(said.map((s) => s.split(" ")[0])).toEqual(["warn", "debug"]);
  expect(said[1]).toMatch(/retried in 10 s/);
});

test("cache keys hold no token, and differ by base URL, token and operation", () => {
  const token = "acct_live_0123456789abcdef";
  const key = accountKey("post", "https://api.merge.dev/api", token);
  expect(key).not.toContain(token);
  expect(key).not.toContain("0123456789");
  const others = [
    accountKey("post", "https://api-eu.merge.dev/api", token),
    accountKey("post", "https://api.merge.dev/api", `${token}x`),
    accountKey("patch 1", "https://api.merge.dev/api", token),
  ];
  expect(new Set([key, ...others]).size).toBe(4);
});

test("cache keys of 200,000 similar tokens are all distinct", () => {
  const keys = new Set<string>();
  for (let i = 0; i < 200_000; i++) keys.add(accountKey("post", "https://api.merge.dev/api", `acct_live_${i.toString(16).padStart(8, "0")}`));
  for (let i = 0; i < 1_000; i++) keys.add(accountKey("post", `https://api.merge.dev/api${i}`, "acct_live_same"));
  expect(keys.size).toBe(201_000);
});

test("through the client: with a cache of 100, 2,000 linked accounts keep it at 100 and an evicted account is fetched again", async () => {
  let metaCount = 0;
  const recording = recordingFetch((request) => {
    if (request.method === "GET") {
      metaCount++;
      return json(200, META);
    }
    return json(201, CREATED);
  });
  const merge = createMergeCrmClient({ apiKey: "sk_cache", fetch: recording.fetch, accountValidation: "strict", accountSchemaCacheSize: 100 });
  for (let i = 0; i < 2_000; i++) await merge.engagements.create({ subject: "s" }, { accountToken: `acct_${i}` });
  expect(metaCount).toBe(2_000);
  await merge.engagements.create({ subject: "s" }, { accountToken: "acct_1999" });
  expect(metaCount).toBe(2_000);
  await merge.engagements.create({ subject: "s" }, { accountToken: "acct_0" });
  expect(metaCount).toBe(2_001);
  await expect(merge.engagements.create({}, { accountToken: "acct_0" })).rejects.toMatchObject({ problems: [{ pointer: "/model/subject" }] });
}, 60_000);
