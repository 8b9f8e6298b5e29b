/**
 * A mock of the Merge CRM Engagements API for tests and demos: Prism serving the bundled spec on a
 * loopback port. Prism is an optional peer dependency (`npm i -D @stoplight/prism-cli@5.14.2`).
 *
 * @module merge-crm-engagements/mock
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { components } from "../../generated/schema.js";
import type { RunnerConfig, RunnerWebhooks } from "./runner.js";

/**
 * The linked account every webhook of the mock is about (`linked_account` of the payload): a HubSpot
 * account of a made-up end user, complete and not a duplicate. The mock ignores the account token it
 * is called with, so it is this one whatever token the client sends.
 */
export const MOCK_WEBHOOK_LINKED_ACCOUNT: Readonly<components["schemas"]["WebhookLinkedAccount"]> = Object.freeze({
  id: "5c3d9a1e-7b2f-4e6a-8d0c-1f2e3a4b5c6d",
  integration: "HubSpot",
  integration_slug: "hubspot",
  category: "crm",
  end_user_origin_id: "mock-end-user-1",
  end_user_organization_name: "Mock Org",
  end_user_email_address: "admin@mock-org.example",
  status: "COMPLETE",
  webhook_listener_url: null,
  is_duplicate: false,
});

/** Where the mock sends its webhooks: see `MockServerOptions.webhooks`. */
export interface MockWebhookOptions {
  /** The receiver's URL (`http:` or `https:`): every delivery is a `POST` to it. */
  url: string;
  /**
   * The signature key, as Merge's dashboard gives it (Security, webhook signature): a secret. It
   * signs each body (`X-Merge-Webhook-Signature`) and goes to the mock's process over its IPC channel
   * only: never in its command line, its output or an error message.
   */
  key: string;
}

/** Options of `startMockServer`. */
export interface MockServerOptions {
  /** The port to listen on. @default a free port chosen by the system */
  port?: number;
  /**
   * Prism's `--errors`: answer a request that breaks the spec with an error status instead of a mock.
   * @default true
   */
  errors?: boolean;
  /** The spec to serve. @default the bundled `openapi.json` */
  spec?: string;
  /** How long to wait for Prism to listen, in milliseconds. @default 30000 */
  startTimeoutMs?: number;
  /**
   * Send Merge's webhooks for the writes the mock answers, as Merge would for a linked account:
   * `Engagement.added` after each create answered 201 (`POST /crm/v1/engagements`) and
   * `Engagement.changed` after each update answered 200 (`PATCH /crm/v1/engagements/{id}`). `data` is
   * the `model` of the answer the client got, so `data.id` is the id the client saw. An answer that is
   * not JSON or has no `model` sends nothing.
   *
   * Each delivery is a `POST` to `url` of the spec's payload (`EngagementAddedEvent`,
   * `EngagementChangedEvent`): `{ hook: { id, event, target: url }, linked_account, data }`, where
   * `hook.id` is a random UUID drawn when the mock starts, the same for all its deliveries (it names
   * a webhook configuration, not a delivery), and `linked_account` is `MOCK_WEBHOOK_LINKED_ACCOUNT`.
   * Headers: `Content-Type: application/json` and `X-Merge-Webhook-Signature`, the HMAC-SHA256 of the
   * exact body bytes keyed with `key` (UTF-8), base64url without padding. A retry sends the same bytes,
   * so the same signature.
   *
   * How: Prism then listens on a loopback port of its own, behind a reverse proxy on the mock's port
   * that passes each request and answer through as they are and reads the answers of writes. A
   * delivery never delays the answer. Deliveries go one at a time, in the order the mock answered. A
   * delivery answered other than 2xx (redirects included), or not answered within 10 s, is tried 5
   * times in about 4 s (waits of 0.25, 0.5, 1 and 2 s), then dropped with a line in the mock's output
   * (`exited`'s `output`); a failing receiver never ends the mock. `close()` first waits up to 5 s for
   * the deliveries already queued, so a process that writes and closes right away still sends them.
   *
   * `startMockServer` rejects with a `TypeError` naming the option when `url` is not an http(s) URL
   * or `key` is not a non-empty string.
   * @example
   * const mock = await startMockServer({ webhooks: { url: "http://127.0.0.1:3000/webhooks/merge", key: "whsec-test" } });
   * const merge = createMergeCrmClient({ apiKey: "test", accountToken: "test", baseUrl: mock.url });
   * const { model } = await merge.engagements.create({ subject: "hello", direction: "OUTBOUND" });
   * // The receiver gets { hook: { event: "Engagement.added", ... }, linked_account, data: model }.
   * await mock.close();
   */
  webhooks?: MockWebhookOptions;
}

/** How the mock's Prism process ended: see `MockServer.exited`. */
export interface MockServerExit {
  /** The exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it (`SIGTERM` after `close()`), or `null`. */
  signal: NodeJS.Signals | null;
  /**
   * Its last lines of output, oldest first: pino's JSON log lines (one per event, request bodies
   * included) and anything written to stderr, such as the stack of an error that ended it. At most
   * 50 lines, each cut at 2,000 characters.
   */
  output: string[];
}

/** A running mock server. */
export interface MockServer {
  /** Its base URL, such as `http://127.0.0.1:4010`: give it to `createMergeCrmClient({ baseUrl })`. */
  url: string;
  /** The process id of Prism. */
  pid: number;
  /** Whether Prism is still running: `false` once it has exited, closed or not. */
  readonly running: boolean;
  /**
   * Resolves (never rejects) when Prism has exited, for any reason: `close()`, a crash, a kill.
   * `close()` ends it with `SIGTERM` (`SIGKILL` if it is still running 5 s later); any other ending,
   * or `exited` resolving before you called `close()`, means the mock died, and `output` says why.
   */
  exited: Promise<MockServerExit>;
  /** Stops Prism and waits for it to exit (with `webhooks`, after up to 5 s for the queued deliveries). */
  close(): Promise<void>;
}

/**
 * The bundled spec: `generated/openapi.json` beside `dist/` (in the package, where this module is
 * `dist/mock.js`) or beside `src/` (in the repository, where it is `src/mock/index.ts`).
 */
export function bundledSpecPath(): string {
  const here = fileURLToPath(import.meta.url);
  const root = extname(here) === ".ts" ? join(dirname(here), "..", "..") : join(dirname(here), "..");
  return join(root, "generated", "openapi.json");
}

/** The path of `@stoplight/prism-cli/package.json`: the runner loads Prism's packages from there. */
function prismManifest(): string {
  try {
    return createRequire(import.meta.url).resolve("@stoplight/prism-cli/package.json");
  } catch {
    throw new Error(
      "startMockServer needs Prism, an optional peer dependency: npm install --save-dev @stoplight/prism-cli@5.14.2",
    );
  }
}

/**
 * How to run the runner beside this module: `mock-runner.js` (ESM build), `mock-runner.cjs` (CommonJS
 * build) or `runner.ts` (the repository's sources, run through tsx in its tests and `npm start`).
 */
function runnerCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const extension = extname(here);
  if (extension !== ".ts") return [join(dirname(here), `mock-runner${extension}`)];
  const runner = join(dirname(here), "runner.ts");
  return ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, runner];
}

/** The last `keep` lines of some streams, each cut at `width` characters. */
function tail(keep: number, width: number) {
  const lines: string[] = [];
  const push = (line: string) => {
    if (!line.trim()) return;
    lines.push(line.length > width ? `${line.slice(0, width)}…` : line);
    if (lines.length > keep) lines.shift();
  };
  return {
    lines,
    /** Collects a stream's lines, holding back a partial last line until its end. */
    follow(stream: NodeJS.ReadableStream) {
      let partial = "";
      let cut = false;
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        for (const part of parts) {
          if (!cut) push(part);
          cut = false;
        }
        // A line longer than any kept line is kept cut now, the rest dropped, not buffered without limit.
        if (partial.length > width) {
          if (!cut) push(partial);
          partial = "";
          cut = true;
        }
      });
      stream.on("end", () => {
        if (!cut) push(partial);
      });
    },
  };
}

/** The webhook options, checked: a `TypeError` naming the option, never quoting the key. */
function checkWebhooks(webhooks: unknown): MockWebhookOptions {
  if (typeof webhooks !== "object" || webhooks === null) throw new TypeError("startMockServer: webhooks must be an object { url, key }");
  const url: unknown = "url" in webhooks ? webhooks.url : undefined;
  const key: unknown = "key" in webhooks ? webhooks.key : undefined;
  let protocol: string | undefined;
  try {
    protocol = typeof url === "string" ? new URL(url).protocol : undefined;
  } catch {
    protocol = undefined;
  }
  if (typeof url !== "string" || (protocol !== "http:" && protocol !== "https:")) {
    const got = typeof url === "string" ? JSON.stringify(url) : typeof url;
    throw new TypeError(`startMockServer: webhooks.url must be an http:// or https:// URL (got ${got})`);
  }
  if (typeof key !== "string" || key === "") throw new TypeError("startMockServer: webhooks.key must be a non-empty string (the webhook signature key)");
  return { url, key };
}

/** Answers the runner's request for the webhook settings (see `mock-runner.ts`): over IPC, never argv. */
function answerWebhooksRequest(child: ChildProcess, webhooks: MockWebhookOptions): void {
  const settings: RunnerWebhooks = { url: webhooks.url, key: webhooks.key, hookId: randomUUID(), linkedAccount: MOCK_WEBHOOK_LINKED_ACCOUNT };
  const onMessage = (message: unknown) => {
    if (typeof message !== "object" || message === null || !("webhooksWanted" in message)) return;
    child.off("message", onMessage);
    // A failed send means the runner is gone, which `exited` reports: nothing to add here.
    child.send({ webhooks: settings }, () => undefined);
  };
  child.on("message", onMessage);
}

/** Waits until the runner says its queued webhooks are done, it exits, or `timeoutMs` passes. */
async function flushWebhooks(child: ChildProcess, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  let onMessage: ((message: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        onMessage = (message: unknown) => {
          if (typeof message === "object" && message !== null && "flushed" in message) resolve();
        };
        child.on("message", onMessage);
        timer = setTimeout(resolve, timeoutMs);
        child.send({ flush: true }, (error) => {
          if (error) resolve();
        });
      }),
      exited,
    ]);
  } finally {
    if (onMessage) child.off("message", onMessage);
    clearTimeout(timer);
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A mock must not outlive the process that started it, even when that process exits abruptly.
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/**
 * Starts Prism on the bundled spec and resolves once it listens. Prism runs in a child process, with
 * the configuration of `prism mock [--errors]` but without the CLI's log formatter, which some request
 * bodies crash (see `mock-runner.ts`). If Prism dies anyway, `exited` resolves with its last lines.
 * With `webhooks`, it also sends Merge's webhooks for the creates and updates it answers.
 * @example
 * const mock = await startMockServer();
 * const merge = createMergeCrmClient({ apiKey: "test", accountToken: "test", baseUrl: mock.url });
 * await merge.engagements.create({ subject: "hello" });
 * await mock.close();
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const webhooks = options.webhooks === undefined ? undefined : checkWebhooks(options.webhooks);
  const config: RunnerConfig = {
    prismCli: prismManifest(),
    spec: options.spec ?? bundledSpecPath(),
    host: "127.0.0.1",
    // 0: the runner listens on a port the system picks and reports it, so no other process can take
    // it between a choice and the listen.
    port: options.port ?? 0,
    errors: options.errors ?? true,
    webhooks: webhooks !== undefined,
  };
  const child = spawn(process.execPath, [...runnerCommand(), JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  running.add(child);
  killAllOnExit();
  if (webhooks) answerWebhooksRequest(child, webhooks);

  // Drain both streams for the life of the process, or Prism blocks once a pipe is full.
  const output = tail(50, 2_000);
  if (child.stdout) output.follow(child.stdout);
  if (child.stderr) output.follow(child.stderr);
  // "close" rather than "exit": it comes after the streams have ended, so the output is complete.
  const exited = new Promise<MockServerExit>((resolve) => {
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal, output: [...output.lines] });
    });
  });

  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Prism did not listen within ${timeoutMs} ms:\n${output.lines.join("\n")}`));
    }, timeoutMs);
    const settle = (error: Error | undefined, address?: string) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      if (error) reject(error);
      else resolve(address ?? "");
    };
    const onMessage = (message: unknown) => {
      if (typeof message !== "object" || message === null || !("listening" in message)) return;
      const port = typeof message.listening === "string" ? /:(\d+)\/?$/.exec(message.listening)?.[1] : undefined;
      if (port) settle(undefined, `http://${config.host}:${port}`);
      else settle(new Error(`Prism reported an address without a port: ${String(message.listening)}`));
    };
    child.on("message", onMessage);
    child.once("error", settle);
    void exited.then(({ code, signal, output: lines }) =>
      settle(new Error(`Prism exited (code ${String(code)}, signal ${String(signal)}) before listening:\n${lines.join("\n")}`)),
    );
  });

  return {
    url,
    pid: child.pid ?? -1,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    exited,
    async close() {
      if (webhooks && child.connected) await flushWebhooks(child, exited, 5_000);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(force);
      }
    },
  };
}
