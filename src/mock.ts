/**
 * A mock of the Merge CRM Engagements API for tests and demos: Prism serving the bundled spec on a
 * loopback port. Prism is an optional peer dependency (`npm i -D @stoplight/prism-cli@5.14.2`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { RunnerConfig } from "./mock-runner.js";

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
  /** Stops Prism and waits for it to exit. */
  close(): Promise<void>;
}

/** The bundled spec: `generated/openapi.json` beside `src/` (in the repository) or `dist/` (in the package). */
export function bundledSpecPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "generated", "openapi.json");
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
 * How to run `mock-runner` beside this module: `.js` (ESM build), `.cjs` (CommonJS build) or `.ts`
 * (the repository's sources, run through tsx in its tests and `npm start`).
 */
function runnerCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const extension = extname(here);
  const runner = join(dirname(here), `mock-runner${extension}`);
  if (extension !== ".ts") return [runner];
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

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not find a free port"));
      });
    });
  });
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
 * @example
 * const mock = await startMockServer();
 * const merge = createMergeCrmClient({ apiKey: "test", accountToken: "test", baseUrl: mock.url });
 * await merge.engagements.create({ subject: "hello" });
 * await mock.close();
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const config: RunnerConfig = {
    prismCli: prismManifest(),
    spec: options.spec ?? bundledSpecPath(),
    host: "127.0.0.1",
    port: options.port ?? (await freePort()),
    errors: options.errors ?? true,
  };
  const child = spawn(process.execPath, [...runnerCommand(), JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  running.add(child);
  killAllOnExit();

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
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Prism did not listen within ${timeoutMs} ms:\n${output.lines.join("\n")}`));
    }, timeoutMs);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: unknown) => {
      if (typeof message === "object" && message !== null && "listening" in message) settle();
    };
    child.on("message", onMessage);
    child.once("error", settle);
    void exited.then(({ code, signal, output: lines }) =>
      settle(new Error(`Prism exited (code ${String(code)}, signal ${String(signal)}) before listening:\n${lines.join("\n")}`)),
    );
  });

  return {
    url: `http://127.0.0.1:${config.port}`,
    pid: child.pid ?? -1,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    exited,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(force);
      }
    },
  };
}
