/**
 * A diagnostic, not part of `npm run bench`: splits our create call's overhead over raw fetch into
 * its layers, each timed against the bench server in interleaved rounds (median of 3,000 calls each):
 * a Request object handed to fetch (what openapi-fetch does), an AbortController + timer + signal per
 * call (what our per-attempt timeout does), bare openapi-fetch, then our client without and with
 * validation. Run `node bench/attribute.mjs` after `npm run bench` has installed bench/ and built dist/.
 */
import { fork } from "node:child_process";
import createClient from "openapi-fetch";
import { createMergeCrmClient } from "./.dist/index.js";
import { ACCOUNT_TOKEN, API_KEY, MODEL, PATH } from "./lib/fixtures.mjs";
import { median } from "./lib/stats.mjs";

const server = fork(new URL("./lib/server.mjs", import.meta.url).pathname, [], { execArgv: [] });
const { port } = await new Promise((r) => server.once("message", r));
const origin = `http://127.0.0.1:${port}`;
const url = origin + PATH;
const init = () => ({
  method: "POST",
  headers: { Authorization: `Bearer ${API_KEY}`, "X-Account-Token": ACCOUNT_TOKEN, "Idempotency-Key": crypto.randomUUID(), "Content-Type": "application/json" },
  body: JSON.stringify({ model: MODEL }),
});
const bare = createClient({ baseUrl: origin, headers: { Authorization: `Bearer ${API_KEY}`, "X-Account-Token": ACCOUNT_TOKEN } });
const nov = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0, validateRequests: false, validateResponses: "off" });
const val = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0 });
const withTimer = async (f) => {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 60000);
  try { return await f(ac.signal); } finally { clearTimeout(t); }
};
const C = {
  "A fetch(url, init)": async () => (await fetch(url, init())).json(),
  "B fetch(new Request(url, init))": async () => (await fetch(new Request(url, init()))).json(),
  "F fetch(url, init+signal) + AbortController + timer": () => withTimer(async (signal) => (await fetch(url, { ...init(), signal })).json()),
  "D fetch(new Request(url, init+signal)) + AC + timer": () => withTimer(async (signal) => (await fetch(new Request(url, { ...init(), signal }))).json()),
  "C bare openapi-fetch": async () => (await bare.POST(PATH, { params: { header: { "Idempotency-Key": crypto.randomUUID() } }, body: { model: MODEL } })).data,
  "G bare openapi-fetch + signal + timer": () => withTimer(async (signal) => (await bare.POST(PATH, { params: { header: { "Idempotency-Key": crypto.randomUUID() } }, body: { model: MODEL }, signal })).data),
  "E ours, validation off": () => nov.engagements.create(MODEL),
  "H ours, validation on": () => val.engagements.create(MODEL),
};
const ids = Object.keys(C);
const lat = Object.fromEntries(ids.map((k) => [k, []]));
for (let r = 0; r < 8; r++) for (const id of ids) for (let i = 0; i < 50; i++) await C[id]();
for (let r = 0; r < 60; r++) {
  for (const id of ids.map((_, i) => ids[(i + r) % ids.length])) for (let i = 0; i < 50; i++) { const t0 = process.hrtime.bigint(); await C[id](); lat[id].push(Number(process.hrtime.bigint() - t0) / 1e3); }
}
const base = median(lat[ids[0]]);
for (const id of ids) console.log(`${median(lat[id]).toFixed(0).padStart(6)} µs  ${(median(lat[id]) / base).toFixed(2)}×  ${id}`);
server.kill();
