/** Row keys and Idempotency-Keys: deterministic, distinct, within the spec's limits, never the token. */
import { readFileSync } from "node:fs";
import { accountName, canonicalJson, idempotencyKeyFor, RowKeys } from "../../src/delivery/keys.js";

const spec = JSON.parse(readFileSync(new URL("../../generated/openapi.json", import.meta.url), "utf8")) as {
  components: { parameters: Record<string, { name: string; schema: { minLength: number; maxLength: number } }> };
};

test("an Idempotency-Key is UUID-shaped, the same for the same account and key, different otherwise, within the spec's length limits", () => {
  const key = idempotencyKeyFor("acct_token_secret", "row-1");
  expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(idempotencyKeyFor("acct_token_secret", "row-1")).toBe(key);
  expect(idempotencyKeyFor("acct_token_secret", "row-2")).not.toBe(key);
  expect(idempotencyKeyFor("acct_other", "row-1")).not.toBe(key);
  // "a\nb" + "c" and "a" + "b\nc" must not meet: the separator is outside both.
  expect(idempotencyKeyFor("a", "b\nc")).not.toBe(idempotencyKeyFor("a\nb", "c"));
  const parameter = Object.values(spec.components.parameters).find((p) => p.name === "Idempotency-Key");
  expect(parameter).toBeDefined();
  expect(key.length).toBeGreaterThanOrEqual(parameter?.schema.minLength ?? 1);
  expect(key.length).toBeLessThanOrEqual(parameter?.schema.maxLength ?? 0);
});

test("an account's name is a 16-hex hash of its token, never the token", () => {
  const name = accountName("acct_token_secret");
  expect(name).toMatch(/^[0-9a-f]{16}$/);
  expect(name).toBe(accountName("acct_token_secret"));
  expect(accountName("acct_token_other")).not.toBe(name);
});

test("canonical JSON: key order does not matter, arrays keep theirs, Dates as ISO, undefined dropped, __proto__ stays a field", () => {
  expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe('{"a":{"d":[2,1]},"b":1}');
  expect(canonicalJson({ a: { c: 1, d: [2, 1] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [2, 1], c: 1 } }));
  expect(canonicalJson({ start_time: new Date("2026-01-02T03:04:05Z") })).toBe('{"start_time":"2026-01-02T03:04:05.000Z"}');
  expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":1}'))).toBe('{"__proto__":{"x":1},"a":1}');
  expect(canonicalJson(undefined)).toBe("null");
});

test("derived keys: identical rows get :1, :2, ...; field order does not matter; other accounts count apart; the same input gives the same keys", () => {
  const input: Array<[string, object]> = [
    ["acct", { subject: "a", direction: "INBOUND" }],
    ["acct", { direction: "INBOUND", subject: "a" }],
    ["acct", { subject: "b" }],
    ["other", { subject: "a", direction: "INBOUND" }],
    ["acct", { subject: "a", direction: "INBOUND" }],
  ];
  const first = new RowKeys();
  const keys = input.map(([account, model]) => first.derive(account, model));
  expect(keys.map((k) => k.split(":")[2])).toEqual(["1", "2", "1", "1", "3"]);
  expect(keys[0]?.replace(/:1$/, "")).toBe(keys[1]?.replace(/:2$/, ""));
  expect(new Set(keys).size).toBe(5);
  const again = new RowKeys();
  expect(input.map(([account, model]) => again.derive(account, model))).toEqual(keys);
});

test("the occurrence table grows past its first size and keeps every count (100,000 distinct rows, each seen twice)", () => {
  const keys = new RowKeys();
  const wrong: string[] = [];
  for (let i = 0; i < 100_000; i++) if (!keys.derive("acct", { subject: `row ${i}` }).endsWith(":1")) wrong.push(`first ${i}`);
  for (let i = 0; i < 100_000; i += 97) if (!keys.derive("acct", { subject: `row ${i}` }).endsWith(":2")) wrong.push(`second ${i}`);
  expect(wrong).toEqual([]);
});
