/**
 * merge-crm-engagements/undici on its own, against a real local HTTP server: what it sends, what its
 * response reads like (beside Node's fetch on the same answers), aborts at each stage, errors shaped as
 * fetch's, and its options. The client's behaviour over it is covered by the contract and fault suites,
 * which run over both transports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { DeferredRequest } from "../../src/core/deferred-request.js";
import { createMergeCrmClient } from "../../src/index.js";
import { createUndiciFetch, type UndiciFetch } from "../../src/undici/index.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  port: number;
}

const seen: Seen[] = [];
let server: Server;
let base: string;
let undici: UndiciFetch;

function route(request: IncomingMessage, response: ServerResponse, body: string): void {
  const path = (request.url ?? "").split("?")[0];
  if (path === "/echo") {
    response.writeHead(201, "Created Here", [["content-type", "application/json"], ["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-many", "1"], ["x-many", "2"]]);
    response.end(JSON.stringify({ method: request.method, url: request.url, body }));
  } else if (path === "/empty") {
    response.writeHead(204).end();
  } else if (path === "/hang") {
    // Never answers.
  } else if (path?.startsWith("/stall-body")) {
    response.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    response.write('{"model":');
  } else if (path === "/reset-body") {
    response.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    response.write('{"model":', () => setTimeout(() => request.socket.destroy(), 20));
  } else {
    response.writeHead(404, { "content-type": "text/plain" }).end("no such path");
  }
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body, port: request.socket.remotePort ?? 0 });
      route(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  undici = createUndiciFetch();
});

afterAll(async () => {
  await undici.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const deferred = (path: string, init: RequestInit = {}) => new DeferredRequest(`${base}${path}`, init);
const post = { method: "POST", headers: new Headers({ "content-type": "application/json", "x-account-token": "t" }), body: '{"model":{}}' };

test("sends the deferred request's method, path, query, headers and body; no Request needed", async () => {
  const response = await undici(deferred("/echo?run_async=true&expand=owner,account#fragment", post));
  expect(await response.json()).toEqual({ method: "POST", url: "/echo?run_async=true&expand=owner,account", body: '{"model":{}}' });
  expect(seen[0]?.headers).toMatchObject({ "content-type": "application/json", "x-account-token": "t", "content-length": "12" });
});

test("a real Request (a raw-client middleware's) is read as it is, body included", async () => {
  const response = await undici(new Request(`${base}/echo?x=1`, { method: "PATCH", headers: { "x-real": "yes" }, body: "é-bytes" }));
  expect(await response.json()).toEqual({ method: "PATCH", url: "/echo?x=1", body: "é-bytes" });
  expect(seen[0]?.headers["x-real"]).toBe("yes");
});

test("a URL without a path is sent to /", async () => {
  const response = await undici(new DeferredRequest(`${base}?x=1`));
  expect(response.status).toBe(404);
  expect(seen[0]?.url).toBe("/?x=1");
  await response.text();
});

test("the response reads like fetch's for the same answer", async () => {
  for (const path of ["/echo", "/empty", "/nowhere"]) {
    const ours = await undici(deferred(path, post));
    const theirs = await fetch(`${base}${path}`, post);
    expect([ours.status, ours.statusText, ours.ok, ours.url, ours.redirected, ours.bodyUsed]).toEqual([
      theirs.status, theirs.statusText, theirs.ok, theirs.url, theirs.redirected, theirs.bodyUsed,
    ]);
    expect(ours.headers).toBeInstanceOf(Headers);
    const strip = (headers: Headers) => [...headers].filter(([name]) => name !== "date");
    expect(strip(ours.headers)).toEqual(strip(theirs.headers));
    expect(ours.headers.getSetCookie()).toEqual(theirs.headers.getSetCookie());
    expect(await ours.text()).toBe(await theirs.text());
    expect(ours.bodyUsed).toBe(true);
    await expect(ours.text()).rejects.toThrow(TypeError);
  }
});

test("body, clone, arrayBuffer, bytes and blob work as on a Response", async () => {
  const streamed = await undici(deferred("/echo", post));
  const reader = streamed.body?.getReader();
  let text = "";
  for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) text += Buffer.from(chunk.value).toString();
  expect(JSON.parse(text)).toMatchObject({ method: "POST" });

  const cloned = (await undici(deferred("/echo", post))).clone();
  expect(await cloned.json()).toMatchObject({ body: '{"model":{}}' });
  expect(new TextDecoder().decode(await (await undici(deferred("/echo", post))).arrayBuffer())).toContain("POST");
  expect((await (await undici(deferred("/echo", post))).bytes()).length).toBeGreaterThan(10);
  const blob = await (await undici(deferred("/echo", post))).blob();
  expect(blob.type).toBe("application/json");
  expect((await undici(deferred("/empty"))).body).toBeNull();
});

test("an aborted signal rejects with its reason and sends nothing", async () => {
  const reason = new Error("stopped by the caller");
  await expect(undici(deferred("/echo", { ...post, signal: AbortSignal.abort(reason) }))).rejects.toBe(reason);
  expect(seen).toHaveLength(0);
});

test("aborting while waiting for the headers rejects with the signal's reason", async () => {
  const controller = new AbortController();
  const reason = new DOMException("timed out after 50 ms", "TimeoutError");
  setTimeout(() => controller.abort(reason), 50);
  await expect(undici(deferred("/hang", { ...post, signal: controller.signal }))).rejects.toBe(reason);
});

test("aborting while the body is read rejects the read with the signal's reason", async () => {
  const controller = new AbortController();
  const response = await undici(deferred("/stall-body", { signal: controller.signal }));
  expect(response.status).toBe(200);
  const reading = response.text();
  const reason = new Error("shutting down");
  setTimeout(() => controller.abort(reason), 30);
  await expect(reading).rejects.toBe(reason);
});

test("errors take fetch's shape: 'fetch failed' before a response, 'terminated' while the body is read", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/echo`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const ours = await undici(new DeferredRequest(refusedUrl)).catch((error: unknown) => error);
  const theirs = await fetch(refusedUrl).catch((error: unknown) => error);
  expect(ours).toBeInstanceOf(TypeError);
  expect(ours).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });
  expect(theirs).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });

  const cut = await undici(deferred("/reset-body"));
  const cutError = await cut.text().catch((error: unknown) => error);
  expect(cutError).toBeInstanceOf(TypeError);
  expect(cutError).toMatchObject({ message: "terminated" });
  const theirCut = await (await fetch(`${base}/reset-body`)).text().catch((error: unknown) => error);
  expect(theirCut).toMatchObject({ message: "terminated" });
});

test("connections: 1 sends calls in flight over one connection; keep-alive reuses it, keepAlive: false does not", async () => {
  const one = createUndiciFetch({ connections: 1 });
  await Promise.all(Array.from({ length: 4 }, async () => (await one(deferred("/echo", post))).text()));
  expect(new Set(seen.map((s) => s.port)).size).toBe(1);
  await one.close();

  seen.length = 0;
  const fresh = createUndiciFetch({ keepAlive: false });
  for (let i = 0; i < 3; i++) await (await fresh(deferred("/echo", post))).text();
  expect(new Set(seen.map((s) => s.port)).size).toBe(3);
  await fresh.close();
});

test("a dispatcher of your own is used, and close() leaves it open", async () => {
  const agent = new Agent({ connections: 2 });
  let dispatched = 0;
  const counting = agent.compose((dispatch) => (options, handler) => {
    dispatched += 1;
    return dispatch(options, handler);
  });
  const mine = createUndiciFetch({ dispatcher: counting });
  expect(mine.dispatcher).toBe(counting);
  await (await mine(deferred("/echo", post))).text();
  expect(dispatched).toBe(1);
  await mine.close();
  expect(agent.closed).toBe(false);
  await (await mine(deferred("/echo", post))).text();
  expect(dispatched).toBe(2);
  await agent.close();
});

test("the client over it: a caller's abort while the body is read rejects with the caller's AbortError, as over fetch", async () => {
  const merge = createMergeCrmClient({ apiKey: "k", accountToken: "t", baseUrl: `${base}/stall-body`, fetch: undici, maxRetries: 0 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 80);
  await expect(merge.engagements.list({}, { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
});
