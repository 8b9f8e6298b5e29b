/**
 * A profiling loop, not part of `npm run bench`: one client's create against the bench server, in a
 * loop, so that `node --cpu-prof` shows where a call's time goes.
 *
 *   node --cpu-prof --cpu-prof-dir=bench/results/profiles bench/profile.mjs ours 20000
 *   node bench/lib/summarize-profile.mjs bench/results/profiles/<file>.cpuprofile
 *
 * Clients: fetch, undici, openapi-fetch, ours, ours-novalidate, merge-sdk. Sequential calls.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { makeClients } from "./lib/clients.mjs";

const [id = "ours", count = "20000"] = process.argv.slice(2);
const server = fork(fileURLToPath(new URL("./lib/server.mjs", import.meta.url)), [], { execArgv: [] });
const { port } = await new Promise((resolve) => server.once("message", resolve));
const { calls, close } = makeClients(`http://127.0.0.1:${port}`);
const call = calls[id];
if (!call) throw new Error(`unknown client ${id}`);
for (let i = 0; i < 500; i++) await call();
const t0 = process.hrtime.bigint();
for (let i = 0; i < Number(count); i++) await call();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.error(`${id}: ${count} calls in ${seconds.toFixed(2)} s, ${((seconds / Number(count)) * 1e6).toFixed(0)} µs per call`);
await close();
server.kill();
