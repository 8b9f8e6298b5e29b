/**
 * The Node adapter on real servers: node:http and Express 5, over real sockets. The raw-body rule
 * (a body parser ahead of the handler) and a 12 MB upload refused without reading it all.
 */
import express from "express";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createMergeWebhookNodeHandler,
  MergeWebhookRawBodyError,
  type MergeWebhookEvent,
  type MergeWebhookHandlerOptions,
} from "../../src/webhooks/index.js";
import { delivery, hmac, KEY } from "./deliveries.js";

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function options(events: MergeWebhookEvent[], errors: unknown[] = []): MergeWebhookHandlerOptions {
  return { key: KEY, onEvent: (event) => void events.push(event), onError: (error) => void errors.push(error) };
}

async function send(url: string, body: string, signature = hmac(body)): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-merge-webhook-signature": signature } });
  return { status: response.status, text: await response.text() };
}

test("node:http: 200 for a signed delivery (handled once), 401 unsigned, 405 for GET", async () => {
  const events: MergeWebhookEvent[] = [];
  const url = await listen(createServer(createMergeWebhookNodeHandler(options(events))));
  const body = delivery();
  expect((await send(url, body)).status).toBe(200);
  expect((await send(url, body)).status).toBe(200);
  expect(events).toHaveLength(1);
  expect(events[0]?.hook.event).toBe("Engagement.added");
  expect((await send(url, body, "nope")).status).toBe(401);
  const get = await fetch(url);
  expect(get.status).toBe(405);
  expect(get.headers.get("allow")).toBe("POST");
});

test("Express: the handler mounted before express.json() reads the raw body itself", async () => {
  const events: MergeWebhookEvent[] = [];
  const app = express();
  app.post("/webhooks/merge", createMergeWebhookNodeHandler(options(events)));
  app.use(express.json());
  app.post("/other", (req, res) => void res.json({ echoed: req.body as unknown }));
  const url = await listen(createServer(app));
  expect((await send(`${url}/webhooks/merge`, delivery())).status).toBe(200);
  expect(events).toHaveLength(1);
  // The rest of the app still parses JSON as before.
  const other = await fetch(`${url}/other`, { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json" } });
  expect(await other.json()).toEqual({ echoed: { a: 1 } });
});

test("Express: express.raw() on the route gives the bytes, and they are verified", async () => {
  const events: MergeWebhookEvent[] = [];
  const app = express();
  app.post("/webhooks/merge", express.raw({ type: "*/*" }), createMergeWebhookNodeHandler(options(events)));
  const url = await listen(createServer(app));
  expect((await send(`${url}/webhooks/merge`, delivery())).status).toBe(200);
  expect((await send(`${url}/webhooks/merge`, delivery(), hmac(delivery(), "wrong-key-0123456789"))).status).toBe(401);
  expect(events).toHaveLength(1);
});

test("Express: a body parsed by express.json() first cannot be verified: 500 (Merge retries) and onError says why", async () => {
  const events: MergeWebhookEvent[] = [];
  const errors: unknown[] = [];
  const app = express();
  app.use(express.json());
  app.post("/webhooks/merge", createMergeWebhookNodeHandler(options(events, errors)));
  const url = await listen(createServer(app));
  const answer = await send(`${url}/webhooks/merge`, delivery());
  expect(answer.status).toBe(500);
  expect(answer.text).toContain("express.raw");
  expect(answer.text).not.toContain(KEY);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(MergeWebhookRawBodyError);
  expect(events).toHaveLength(0);
});

test("a 12 MB upload over a real socket is answered 413 after the server read at most the 5 MB limit", async () => {
  let read = 0;
  const handler = createMergeWebhookNodeHandler(options([]));
  const url = await listen(
    createServer((req: IncomingMessage, res) => {
      // The adapter sees the real request; this only counts what it pulls from the socket.
      const counted = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        pause: () => req.pause(),
        async *[Symbol.asyncIterator]() {
          for await (const chunk of req) {
            read += (chunk as Buffer).byteLength;
            yield chunk as Buffer;
          }
        },
      };
      void handler(counted, res);
    }),
  );
  const TOTAL = 12 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const { status, sent } = await new Promise<{ status: number | "reset"; sent: number }>((resolve) => {
    let written = 0;
    let settled = false;
    const done = (status: number | "reset") => {
      if (settled) return;
      settled = true;
      resolve({ status, sent: written });
    };
    const upload = httpRequest(`${url}/`, { method: "POST", headers: { "x-merge-webhook-signature": hmac("x"), "transfer-encoding": "chunked" } }, (response) => {
      response.resume();
      done(response.statusCode ?? 0);
      upload.destroy();
    });
    upload.on("error", () => done("reset"));
    const pump = () => {
      while (!settled && written < TOTAL) {
        written += chunk.byteLength;
        if (!upload.write(chunk)) return void upload.once("drain", pump);
      }
      if (!settled) upload.end();
    };
    pump();
  });
  expect(status).toBe(413);
  expect(read).toBeLessThanOrEqual(5 * 1024 * 1024 + 256 * 1024);
  expect(sent).toBeLessThan(TOTAL);
});
