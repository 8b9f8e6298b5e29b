/**
 * bench:queue's local Merge, in a process of its own so that its CPU time is nobody else's: every write
 * is answered after `latencyMs` (its first argument; 1000), 201 for a new Idempotency-Key (a replay of a
 * known key is counted apart), 429 (`Retry-After: 1`) past 110% of a sixth of 600 writes in 10 s for an
 * account (what the pacer must keep under). `GET /bench/stats` answers its counters and its own CPU
 * time; it prints `{"url": ...}` once it listens.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const latencyMs = Number(process.argv[2] ?? "1000");
const PER_10S = Math.floor((600 / 6) * 1.1);
const stats = { posts: 0, created: 0, replays: 0, refused: 0, inFlight: 0, peakInFlight: 0 };
const keys = new Set<string>();
const recent = new Map<string, number[]>();
const created = () => JSON.stringify({ model: { id: randomUUID(), subject: "bench" }, warnings: [], errors: [] });

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    if (request.method !== "POST") {
      const { user, system } = process.cpuUsage();
      const body = request.url === "/bench/stats" ? { ...stats, cpuMs: (user + system) / 1000 } : {};
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    const now = performance.now();
    stats.posts++;
    const account = String(request.headers["x-account-token"] ?? "");
    const times = recent.get(account) ?? [];
    recent.set(account, times);
    while (times.length > 0 && (times[0] ?? 0) <= now - 10_000) times.shift();
    const throttled = times.length >= PER_10S;
    if (throttled) stats.refused++;
    else {
      times.push(now);
      const key = String(request.headers["idempotency-key"]);
      if (keys.has(key)) stats.replays++;
      else {
        keys.add(key);
        stats.created++;
      }
    }
    stats.peakInFlight = Math.max(stats.peakInFlight, ++stats.inFlight);
    setTimeout(() => {
      stats.inFlight--;
      if (throttled) response.writeHead(429, { "content-type": "application/json", "retry-after": "1" }).end('{"detail":"rate limited"}');
      else response.writeHead(201, { "content-type": "application/json" }).end(created());
    }, latencyMs);
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
