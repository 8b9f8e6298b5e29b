/**
 * A local Merge for bulk tests. It stores writes by Idempotency-Key as Merge does (the same key with the
 * same body replays the stored answer, with another body is answered 400) and lets a test decide, per
 * request, by linked account: store, or answer a status (with Retry-After). Every arrival is logged
 * with its time, account token, key and the status answered.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { listenOnLoopback, type Loopback } from "./loopback.js";

export interface Arrival {
  at: number;
  account: string;
  key: string | undefined;
  status: number;
}

export type Decision = "store" | { status: number; retryAfter?: string };
export type Decide = (request: { account: string; key: string | undefined; body: string; at: number }) => Decision;

export class BulkServer {
  readonly arrivals: Arrival[] = [];
  /** Stored writes by Idempotency-Key: one per engagement written. */
  readonly stored = new Map<string, { body: string; response: string; account: string }>();
  decide: Decide = () => "store";
  /** The answer to GET meta/post (the linked account's request_schema), when set. */
  meta: unknown;
  /** The answer to GET meta/post for one account (its token), when set and not `undefined`: beats `meta`. */
  metaFor: ((account: string) => unknown) | undefined;
  /** Delay before answering, in milliseconds. */
  latencyMs = 0;
  /** Delay before answering a write given its status, when set (else `latencyMs`). */
  delay: ((status: number) => number) | undefined;
  /** Writes arrived and not yet answered, and the most at once. */
  inFlight = 0;
  peakInFlight = 0;
  private readonly server: Server;
  private loopback: Loopback | undefined;
  url = "";

  constructor() {
    this.server = createServer((request, response) => {
      void readBody(request).then((body) => {
        const at = performance.now();
        const account = String(request.headers["x-account-token"] ?? "");
        const header = request.headers["idempotency-key"];
        const key = typeof header === "string" ? header : undefined;
        let status = 201;
        let text: string;
        const headers: Record<string, string> = { "content-type": "application/json" };
        const decision = request.method === "POST" ? this.decide({ account, key, body, at }) : "store";
        if (request.method !== "POST") {
          status = 200;
          const meta = this.metaFor?.(account) ?? this.meta;
          text = JSON.stringify(request.url === "/crm/v1/engagements/meta/post" && meta !== undefined ? meta : { next: null, previous: null, results: [] });
        } else if (decision === "store") {
          const existing = key === undefined ? undefined : this.stored.get(key);
          if (existing && existing.body !== body) {
            status = 400;
            text = JSON.stringify({ detail: "Idempotency-Key was used with another body." });
          } else if (existing) text = existing.response;
          else {
            text = JSON.stringify({ model: { id: randomUUID(), subject: "stored" }, warnings: [], errors: [] });
            this.stored.set(key ?? randomUUID(), { body, response: text, account });
          }
        } else {
          status = decision.status;
          if (decision.retryAfter !== undefined) headers["retry-after"] = decision.retryAfter;
          text = JSON.stringify({ detail: `status ${status}` });
        }
        if (request.method === "POST") {
          this.arrivals.push({ at, account, key, status });
          this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
        }
        const answer = () => {
          if (request.method === "POST") this.inFlight--;
          response.writeHead(status, headers);
          response.end(text);
        };
        const delay = request.method === "POST" && this.delay ? this.delay(status) : this.latencyMs;
        if (delay > 0) setTimeout(answer, delay);
        else answer();
      });
    });
  }

  async start(): Promise<void> {
    this.loopback = await listenOnLoopback(this.server);
    this.url = this.loopback.url;
  }

  async stop(): Promise<void> {
    await this.loopback?.stop();
  }

  reset(decide: Decide = () => "store"): void {
    this.decide = decide;
    this.latencyMs = 0;
    this.delay = undefined;
    this.inFlight = 0;
    this.peakInFlight = 0;
    this.meta = undefined;
    this.metaFor = undefined;
    this.arrivals.length = 0;
    this.stored.clear();
  }

  /** Engagements written for an account (its token): one per Idempotency-Key stored, a replay writes nothing. */
  storedFor(account: string): number {
    let n = 0;
    for (const stored of this.stored.values()) if (stored.account === account) n++;
    return n;
  }

  /** POSTs that arrived for one account (all accounts without one). */
  posts(account?: string): Arrival[] {
    return account === undefined ? this.arrivals : this.arrivals.filter((a) => a.account === account);
  }
}

/**
 * One server for a test file, started before its tests and reset before each, with a fresh temporary
 * folder per test (`dir()`), removed after it.
 */
export function useBulkServer(prefix: string): { server: BulkServer; dir: () => string } {
  const server = new BulkServer();
  let current = "";
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.reset();
    current = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(current, { recursive: true, force: true }));
  return { server, dir: () => current };
}

/**
 * A per-account limit: a request is answered 429 (`Retry-After: 1`) when its account already had 110%
 * of a sixth of `perMinute` in the last 10 s (the smoothness the importer promises), or twice the
 * per-second rate in the last second (a burst). Only requests let through count.
 */
export function perAccountLimit(perMinute: number): (account: string, at: number) => boolean {
  const per10s = Math.floor((perMinute / 6) * 1.1);
  const perSecond = Math.ceil((perMinute / 60) * 2);
  const recent = new Map<string, number[]>();
  return (account, at) => {
    const times = recent.get(account) ?? [];
    while (times.length > 0 && (times[0] ?? 0) <= at - 10_000) times.shift();
    recent.set(account, times);
    let lastSecond = 0;
    for (let i = times.length - 1; i >= 0 && (times[i] ?? 0) > at - 1_000; i--) lastSecond++;
    if (times.length >= per10s || lastSecond >= perSecond) return false;
    times.push(at);
    return true;
  };
}

/** The most values in any window of `windowMs` (values sorted). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A linked account's meta/post whose schema requires `subject` and allows only OUTBOUND calls: rows
 * the spec accepts and this CRM refuses, by pointer (`/model/subject`, `/model/direction`).
 */
export const OUTBOUND_ONLY_META = {
  request_schema: {
    type: "object",
    properties: { model: { type: "object", properties: { subject: { type: "string" }, direction: { type: "string", enum: ["OUTBOUND"] } }, required: ["subject"] } },
    required: ["model"],
  },
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: false,
};
