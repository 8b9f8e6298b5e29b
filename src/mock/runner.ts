/**
 * The child process behind `startMockServer` (not a public entry point): Prism's HTTP server built as
 * `prism mock --errors` builds it, but logging through pino straight to stdout.
 *
 * Why not the CLI: its log formatter re-reads each of pino's JSON lines through `jsonrepair`, which
 * mangles some valid JSON (a string holding `[` inside an array, for example `["[x"],"y":1`), and then
 * throws on the mangled line (`constructPrefix` reads `.index` of an unknown logger name). The
 * "Request received" line carries the request body, so one such body, valid or not, killed the mock.
 * Here nothing parses the log: request content is only ever serialized.
 *
 * Prism's packages are loaded from where `@stoplight/prism-cli` resolves them, so they are the
 * versions the CLI would run. Started with one argument, the JSON of `RunnerConfig`, and an IPC
 * channel: it sends `{ listening: url }` once it listens, and exits when its parent goes away.
 *
 * With `webhooks: true` Prism listens on a loopback port of its own and a small reverse proxy
 * (`webhookProxy`) listens on the mock's port: it forwards each request and answer as they are, and
 * after a create answered 201 or an update answered 200 queues the webhook `startMockServer`
 * documents. The webhook settings, signature key included, come over the IPC channel, never argv
 * (visible in `ps` and `/proc/<pid>/cmdline`): the runner asks with `{ webhooksWanted: true }`, the
 * parent answers `{ webhooks: RunnerWebhooks }`. Asking, rather than the parent sending first, means
 * no message can arrive before the listener exists (loading the runner through tsx takes a while).
 * `{ flush: true }` asks for `{ flushed: true }` once every queued delivery is done (sent or dropped).
 */
import { createHmac } from "node:crypto";
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { components } from "../../generated/schema.js";

/** What `startMockServer` passes (as JSON in argv[2]). */
export interface RunnerConfig {
  /** The path of `@stoplight/prism-cli/package.json`. */
  prismCli: string;
  spec: string;
  host: string;
  port: number;
  errors: boolean;
  /** Whether to send webhooks: their settings then come over IPC (see above), not in argv. */
  webhooks: boolean;
}

/** The webhook settings `startMockServer` sends over IPC. */
export interface RunnerWebhooks {
  url: string;
  /** The signature key: a secret, never logged. */
  key: string;
  hookId: string;
  linkedAccount: components["schemas"]["WebhookLinkedAccount"];
}

// The few members of Prism's modules used here.
interface PrismLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(bindings: { name: string }): PrismLogger;
}
interface PrismCore {
  createLogger(name: string, options: object, destination: NodeJS.WritableStream): PrismLogger;
}
interface PrismHttp {
  getHttpOperationsFromSpec(spec: string): Promise<unknown[]>;
}
interface PrismHttpServer {
  createServer(operations: unknown[], options: object): { listen(port: number, host: string): Promise<string> };
}
interface PrismCliExtensions {
  configureExtensionsUserProvided(spec: string, fakerOptions: object): Promise<void>;
}

type WebhookEventName = "Engagement.added" | "Engagement.changed";

/** The waits before each retry of a delivery (Merge retries a non-2xx answer too): 5 attempts in about 4 s. */
const RETRY_DELAYS_MS = [250, 500, 1_000, 2_000];
const DELIVERY_TIMEOUT_MS = 10_000;
/** Beyond this many waiting deliveries (a receiver long down), new events are dropped, not held without limit. */
const MAX_QUEUED = 1_000;
/** Larger answers are passed through but not read for a webhook. */
const MAX_OBSERVED_BODY = 10 * 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The URL as it may be logged: without user or password. */
function loggable(url: string): string {
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

/** Why a delivery attempt failed, in words that hold nothing of the request (no header, no key). */
function failure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (isRecord(cause) && typeof cause["code"] === "string") return `${error.message} (${cause["code"]})`;
  return error.name === "TimeoutError" ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : error.message;
}

/**
 * The webhook sender: one queue, delivered one at a time, so a receiver sees the events in the order
 * the mock answered them (a delivery being retried holds back the ones after it).
 */
function webhookSender(settings: RunnerWebhooks, logger: PrismLogger) {
  const target = loggable(settings.url);
  const queue: { event: WebhookEventName; id: string; body: Uint8Array<ArrayBuffer>; signature: string }[] = [];
  let busy = false;
  let waiters: (() => void)[] = [];

  async function deliver(delivery: (typeof queue)[number]): Promise<void> {
    const what = `${delivery.event} of engagement ${delivery.id} to ${target}`;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      try {
        const response = await fetch(settings.url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Merge-Webhook-Signature": delivery.signature },
          body: delivery.body,
          redirect: "manual",
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) {
          logger.info(`Webhook ${what} delivered: ${response.status} (attempt ${attempt})`);
          return;
        }
        reason = `answered ${response.status}`;
      } catch (error) {
        reason = failure(error);
      }
      const delay = RETRY_DELAYS_MS[attempt - 1];
      if (delay === undefined) {
        logger.error(`Webhook ${what} dropped after ${attempt} attempts: ${reason}`);
        return;
      }
      logger.warn(`Webhook ${what} failed (attempt ${attempt}: ${reason}); retrying in ${delay} ms`);
      await sleep(delay);
    }
  }

  async function drain(): Promise<void> {
    busy = true;
    for (;;) {
      const next = queue.shift();
      if (!next) break;
      // deliver() catches what a receiver can do; this is for anything else, which must not end the mock.
      await deliver(next).catch((error: unknown) => logger.error(`Webhook ${next.event} of engagement ${next.id} not sent: ${failure(error)}`));
    }
    busy = false;
    const waiting = waiters;
    waiters = [];
    for (const resolve of waiting) resolve();
  }

  return {
    /** Queues the event for `model`, the `model` of the answer the client got. */
    send(event: WebhookEventName, model: Record<string, unknown>): void {
      const id = typeof model["id"] === "string" ? model["id"] : "(no id)";
      if (queue.length >= MAX_QUEUED) {
        logger.error(`Webhook ${event} of engagement ${id} dropped: ${MAX_QUEUED} deliveries already waiting for ${target}`);
        return;
      }
      const payload = {
        hook: { id: settings.hookId, event, target: settings.url },
        linked_account: settings.linkedAccount,
        data: model,
      };
      const body = new TextEncoder().encode(JSON.stringify(payload));
      const signature = createHmac("sha256", settings.key).update(body).digest("base64url");
      queue.push({ event, id, body, signature });
      if (!busy) void drain();
    },
    /** Resolves once nothing is queued or being delivered. */
    idle(): Promise<void> {
      if (!busy) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** The webhook an answer calls for, if any: a create answered 201, an update answered 200. */
function webhookFor(method: string | undefined, url: string | undefined, status: number | undefined): WebhookEventName | undefined {
  const path = new URL(url ?? "/", "http://mock").pathname;
  if (method === "POST" && status === 201 && /^\/crm\/v1\/engagements\/?$/.test(path)) return "Engagement.added";
  if (method === "PATCH" && status === 200 && /^\/crm\/v1\/engagements\/[^/]+\/?$/.test(path)) return "Engagement.changed";
  return undefined;
}

// Hop-by-hop headers describe one connection, not the message: a proxy does not forward them (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);
function endToEndHeaders(raw: string[]): string[] {
  const headers: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name !== undefined && value !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, value);
  }
  return headers;
}

/**
 * The public side of a mock that sends webhooks: forwards each request to Prism at `upstreamPort`
 * as it came and each answer back as Prism gave it (method, path, headers, body, status), then reads
 * the answers that call for a webhook and hands their `model` to `onModel`. The answer is never held
 * for the webhook: `onModel` runs as its last byte is passed on, and only queues.
 */
function webhookProxy(host: string, upstreamPort: number, logger: PrismLogger, onModel: (event: WebhookEventName, model: Record<string, unknown>) => void) {
  const agent = new Agent({ keepAlive: true });
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const upstream = request({
      host,
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers: endToEndHeaders(req.rawHeaders),
      agent,
    });
    upstream.on("response", (answer) => {
      const event = webhookFor(req.method, req.url, answer.statusCode);
      const chunks: Buffer[] = [];
      let size = 0;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.rawHeaders));
      answer.on("data", (chunk: Buffer) => {
        if (event) {
          size += chunk.length;
          if (size <= MAX_OBSERVED_BODY) chunks.push(chunk);
        }
        if (!res.write(chunk)) {
          answer.pause();
          res.once("drain", () => answer.resume());
        }
      });
      answer.on("end", () => {
        // Queued before the answer ends, so a client that closes the mock right after still gets it sent.
        if (event && size <= MAX_OBSERVED_BODY) {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            body = undefined;
          }
          const model = isRecord(body) ? body["model"] : undefined;
          if (isRecord(model)) onModel(event, model);
        }
        res.end();
      });
      answer.on("error", () => res.destroy());
    });
    upstream.on("error", (error) => {
      logger.error(`Proxy to Prism failed for ${req.method ?? "?"} ${req.url ?? "?"}: ${error.message}`);
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { "Content-Type": "application/json" }).end(JSON.stringify({ detail: "The mock's Prism did not answer" }));
    });
    req.on("error", () => upstream.destroy());
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
}

function isRunnerWebhooks(value: unknown): value is RunnerWebhooks {
  return (
    isRecord(value) &&
    typeof value["url"] === "string" &&
    typeof value["key"] === "string" &&
    typeof value["hookId"] === "string" &&
    isRecord(value["linkedAccount"]) &&
    typeof value["linkedAccount"]["id"] === "string"
  );
}

/** Asks the parent for the webhook settings (see the top of this file) and waits for them. */
function receiveWebhooks(): Promise<RunnerWebhooks> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const settings = isRecord(message) ? message["webhooks"] : undefined;
      if (!isRunnerWebhooks(settings)) return;
      process.off("message", onMessage);
      resolve(settings);
    };
    process.on("message", onMessage);
    process.send?.({ webhooksWanted: true });
  });
}

async function main(config: RunnerConfig): Promise<void> {
  const webhooks = config.webhooks ? await receiveWebhooks() : undefined;
  const load = createRequire(config.prismCli);
  const { createLogger } = load("@stoplight/prism-core") as PrismCore;
  const { getHttpOperationsFromSpec } = load("@stoplight/prism-http") as PrismHttp;
  const { createServer } = load("@stoplight/prism-http-server") as PrismHttpServer;
  const { configureExtensionsUserProvided } = load("./dist/extensions.js") as PrismCliExtensions;

  const logger = createLogger(
    "CLI",
    {
      level: "info",
      formatters: { level: (label: string) => ({ level: label }) },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
    },
    process.stdout,
  );
  const operations = await getHttpOperationsFromSpec(config.spec);
  if (operations.length === 0) throw new Error(`No operations found in ${config.spec}`);
  // As `prism mock` does (it applies the spec's x-json-schema-faker options).
  await configureExtensionsUserProvided(config.spec, { fillProperties: undefined });
  // The configuration `prism mock <spec> [--errors]` gives createServer (prism-cli's createServer.js).
  const server = createServer(operations, {
    cors: true,
    config: {
      validateRequest: true,
      validateResponse: true,
      checkSecurity: true,
      errors: config.errors,
      upstreamProxy: undefined,
      mock: { dynamic: false, ignoreExamples: false, seed: null },
      isProxy: false,
    },
    components: { logger: logger.child({ name: "HTTP SERVER" }) },
  });
  if (!webhooks) {
    const address = await server.listen(config.port, config.host);
    logger.info(`Prism is listening on ${address}`);
    process.send?.({ listening: address });
    return;
  }

  const internal = await server.listen(0, config.host);
  const webhookLogger = logger.child({ name: "WEBHOOKS" });
  const sender = webhookSender(webhooks, webhookLogger);
  const proxy = webhookProxy(config.host, Number(new URL(internal).port), webhookLogger, (event, model) => sender.send(event, model));
  await new Promise<void>((resolve, reject) => {
    proxy.once("error", reject);
    proxy.listen(config.port, config.host, () => {
      proxy.off("error", reject);
      resolve();
    });
  });
  const { port } = proxy.address() as AddressInfo;
  const address = `http://${config.host}:${port}`;
  logger.info(`Prism is listening on ${internal}, behind the mock's proxy on ${address}`);
  webhookLogger.info(`Sending Engagement.added and Engagement.changed webhooks to ${loggable(webhooks.url)}`);
  process.on("message", (message: unknown) => {
    if (isRecord(message) && message["flush"] === true) void sender.idle().then(() => process.send?.({ flushed: true }));
  });
  process.send?.({ listening: address });
}

// A mock must not outlive the process that started it, even one killed with SIGKILL.
process.once("disconnect", () => process.exit(0));

const raw = process.argv[2];
if (raw === undefined) {
  process.stderr.write("mock-runner: expected the configuration as its first argument\n");
  process.exit(2);
}
main(JSON.parse(raw) as RunnerConfig).catch((error: unknown) => {
  process.stderr.write(`Prism could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
