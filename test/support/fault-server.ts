/**
 * A real local HTTP server that misbehaves on purpose, one scripted behaviour per request. It stores
 * writes by Idempotency-Key as Merge does: the same key with the same body replays the stored answer,
 * the same key with another body is answered 400.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { listenOnLoopback, type Loopback } from "./loopback.js";

export type Behaviour =
  | "ok" // store (or replay) and answer 201
  | { status: number; retryAfter?: string; body?: string; contentType?: string } // answer without storing
  | "store-then-500" // store, then answer 500
  | "reset-before-body" // destroy the connection before reading the request body
  | "reset-after-store" // read the body, store, then destroy the connection
  | "hang" // read the body and never answer
  | { slowMs: number; store: boolean } // wait, then store and answer 201 (the store may happen first)
  | "truncated" // store, send the headers and half of the JSON body, then close
  | "invalid-json"; // store, answer 201 with a complete body that is not JSON

export interface Arrival {
  at: number;
  method: string;
  url: string;
  idempotencyKey: string | undefined;
}

interface Stored {
  body: string;
  response: string;
}

export class FaultServer {
  readonly arrivals: Arrival[] = [];
  /** Engagements stored: one per distinct write that got through. */
  readonly stored = new Map<string, Stored>();
  private script: Behaviour[] = [];
  private fallback: (url: string, account: string) => Behaviour = () => "ok";
  private readonly server: Server;
  private loopback: Loopback | undefined;
  url = "";

  constructor() {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  async start(): Promise<void> {
    this.loopback = await listenOnLoopback(this.server);
    this.url = this.loopback.url;
  }

  async stop(): Promise<void> {
    await this.loopback?.stop();
  }

  /**
   * Sets what the next requests meet, in order; after the script runs out, each request gets what
   * `fallback` picks for its URL and linked account (its X-Account-Token; "ok" unless given).
   */
  reset(script: Behaviour[], fallback: (url: string, account: string) => Behaviour = () => "ok"): void {
    this.script = [...script];
    this.fallback = fallback;
    this.arrivals.length = 0;
    this.stored.clear();
  }

  /** Milliseconds between consecutive arrivals: the client's waits (plus the failed attempt's time). */
  gaps(): number[] {
    return this.arrivals.slice(1).map((a, i) => a.at - (this.arrivals[i]?.at ?? a.at));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const key = request.headers["idempotency-key"];
    const idempotencyKey = typeof key === "string" ? key : undefined;
    this.arrivals.push({ at: performance.now(), method: request.method ?? "", url: request.url ?? "", idempotencyKey });
    const behaviour = this.script.shift() ?? this.fallback(request.url ?? "", String(request.headers["x-account-token"] ?? ""));
    if (behaviour === "reset-before-body") {
      request.socket.destroy();
      return;
    }
    const body = await readBody(request);
    const store = (): { status: number; text: string } => {
      if (request.method === "GET") return { status: 200, text: JSON.stringify({ next: null, previous: null, results: [] }) };
      if (request.method !== "POST") return { status: 200, text: JSON.stringify(engagementResponse(randomUUID())) };
      const existing = idempotencyKey === undefined ? undefined : this.stored.get(idempotencyKey);
      if (existing) {
        return existing.body === body
          ? { status: 201, text: existing.response }
          : { status: 400, text: JSON.stringify({ detail: "Idempotency-Key was used with another body." }) };
      }
      const text = JSON.stringify(engagementResponse(randomUUID()));
      this.stored.set(idempotencyKey ?? randomUUID(), { body, response: text });
      return { status: 201, text };
    };

    if (behaviour === "ok") return send(response, store());
    if (behaviour === "store-then-500") {
      store();
      return send(response, { status: 500, text: JSON.stringify({ detail: "Internal error after the write." }) });
    }
    if (behaviour === "reset-after-store") {
      store();
      request.socket.destroy();
      return;
    }
    if (behaviour === "hang") return;
    if (behaviour === "truncated") {
      const { status, text } = store();
      response.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
      response.write(text.slice(0, Math.floor(text.length / 2)));
      setTimeout(() => request.socket.destroy(), 20);
      return;
    }
    if (behaviour === "invalid-json") {
      store();
      return send(response, { status: 201, text: '{"model": {"id": "550e8400-e29b-41d4' });
    }
    if ("slowMs" in behaviour) {
      const result = behaviour.store ? store() : undefined;
      setTimeout(() => {
        if (!response.destroyed) send(response, result ?? store());
      }, behaviour.slowMs);
      return;
    }
    const headers: Record<string, string> = { "content-type": behaviour.contentType ?? "application/json" };
    if (behaviour.retryAfter !== undefined) headers["retry-after"] = behaviour.retryAfter;
    response.writeHead(behaviour.status, headers);
    response.end(behaviour.body ?? JSON.stringify({ detail: `status ${behaviour.status}` }));
  }
}

function send(response: ServerResponse, { status, text }: { status: number; text: string }): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A spec-valid 201 body. */
function engagementResponse(id: string) {
  return { model: { id, subject: "Call from customer", direction: "INBOUND" }, warnings: [], errors: [] };
}
