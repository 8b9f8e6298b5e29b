/**
 * bench:queue's local Merge, in a process of its own so that its CPU time is nobody else's: every write
 * is answered after `latencyMs` (its first argument; 1000), 201 for a new Idempotency-Key (a replay of a
 * known key is counted apart), 429 (`Retry-After: 1`) past 110% of a sixth of 600 writes in 10 s for an
 * account (what the pacer must keep under), and 403 after 200 ms for every write of the account tokens
 * its second argument lists, comma-separated (their permissions revoked). `GET /bench/stats` answers its
 * counters, its own CPU time and its clock (`now`, `performance.now()`); `GET /bench/times` the arrival
 * times, on that clock, of the writes it created (by account token) and of those it failed (403 and
 * 429). It prints
 * `{"url": ...}` once it listens.
 * Not the shared fake (test/support/fake-merge.ts): its CPU time is a printed figure, and the fake's log of every request's headers and body would add to it.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const latencyMs = Number(process.argv[2] ?? "1000");
const forbidden = new Set((process.argv[3] ?? "").split(",").filter((token) => token !== ""));
const FORBIDDEN_AFTER_MS = 200;
const PER_10S = Math.floor((600 / 6) * 1.1);
const stats = { posts: 0, created: 0, replays: 0, refused: 0, forbidden: 0, inFlight: 0, peakInFlight: 0 };
const arrivals = { created: {} as Record<string, number[]>, failing: [] as number[] };
const keys = new Set<string>();
const recent = new Map<string, number[]>();
const created = () => JSON.stringify({ model: { id: randomUUID(), subject: "bench" }, warnings: [], errors: [] });

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    if (request.method !== "POST") {
      const { user, system } = process.cpuUsage();
      const now = performance.now();
      const body = request.url === "/bench/stats" ? { ...stats, cpuMs: (user + system) / 1000, now } : request.url === "/bench/times" ? { ...arrivals, now } : {};
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    const now = performance.now();
    stats.posts++;
    const account = String(request.headers["x-account-token"] ?? "");
    const times = recent.get(account) ?? [];
    recent.set(account, times);
    while (times.length > 0 && (times[0] ?? 0) <= now - 10_000) times.shift();
    const status = forbidden.has(account) ? 403 : times.length >= PER_10S ? 429 : 201;
    if (status === 201) {
      times.push(now);
      const key = String(request.headers["idempotency-key"]);
      if (keys.has(key)) stats.replays++;
      else {
        keys.add(key);
        stats.created++;
        (arrivals.created[account] ??= []).push(now);
      }
    } else {
      arrivals.failing.push(now);
      if (status === 429) stats.refused++;
      else stats.forbidden++;
    }
    stats.peakInFlight = Math.max(stats.peakInFlight, ++stats.inFlight);
    setTimeout(() => {
      stats.inFlight--;
      if (status === 429) response.writeHead(429, { "content-type": "application/json", "retry-after": "1" }).end('{"detail":"rate limited"}');
      else if (status === 403) response.writeHead(403, { "content-type": "application/json" }).end('{"detail":"You do not have permission to perform this action."}');
      else response.writeHead(201, { "content-type": "application/json" }).end(created());
    }, status === 403 ? FORBIDDEN_AFTER_MS : latencyMs);
  });
});
server.keepAliveTimeout = 60_000;
server.maxConnections = 20_000;
server.listen(0, "127.0.0.1", 8_192, () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
