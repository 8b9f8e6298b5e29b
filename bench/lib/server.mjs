/**
 * The benchmark's HTTP server, run in its own process (forked by http.mjs): keep-alive, reads each
 * request body in full and answers `POST /crm/v1/engagements` with a fixed, spec-valid 201 and
 * `GET /crm/v1/engagements/meta/post` with a fixed meta (for account validation). Anything else gets a 404 (so that a wrong URL shows up as a failed call, not as a fast one).
 *
 * Not the shared fake (test/support/fake-merge.ts): bench/run.mjs runs it with plain node from bench/'s own install, where TypeScript does not load.
 *
 * IPC: sends `{ port }` once listening; on `{ capture: true }` it sends back the next request's
 * method, URL, headers and body (to compare the clients' wire requests); on `{ stop: true }` it closes.
 */
import { createServer } from "node:http";
import { META_POST, PATH, RESPONSE_201 } from "./fixtures.mjs";

const body = Buffer.from(JSON.stringify(RESPONSE_201));
const headers = {
  "Content-Type": "application/json",
  "Content-Length": String(body.length),
  "X-Request-Id": "bench-0000",
};
const notFound = Buffer.from(JSON.stringify({ detail: "Not found." }));
const meta = Buffer.from(JSON.stringify(META_POST));

let capture = false;
let served = 0;

const server = createServer({ keepAlive: true, keepAliveTimeout: 120_000, headersTimeout: 130_000, requestTimeout: 0 }, (req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const ok = req.method === "POST" && req.url.split("?")[0] === PATH;
    if (capture) {
      capture = false;
      process.send?.({ captured: { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") } });
    }
    served++;
    if (req.method === "GET" && req.url === `${PATH}/meta/post`) {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(meta.length) });
      res.end(meta);
    } else if (ok) {
      res.writeHead(201, headers);
      res.end(body);
    } else {
      res.writeHead(404, { "Content-Type": "application/json", "Content-Length": String(notFound.length) });
      res.end(notFound);
    }
  });
});
server.keepAliveTimeout = 120_000;

process.on("message", (message) => {
  if (message?.capture) capture = true;
  if (message?.stop) {
    server.closeAllConnections?.();
    server.close(() => {
      process.send?.({ stopped: true, served });
      process.exit(0);
    });
  }
});
process.on("disconnect", () => process.exit(0));

server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: server.address().port });
});
