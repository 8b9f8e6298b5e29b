/**
 * A mock of the Merge CRM Engagements API for tests and demos: Prism serving the bundled spec on a
 * loopback port. Prism is an optional peer dependency (`npm i -D @stoplight/prism-cli@5.14.2`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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

/** A running mock server. */
export interface MockServer {
  /** Its base URL, such as `http://127.0.0.1:4010`: give it to `createMergeCrmClient({ baseUrl })`. */
  url: string;
  /** The process id of Prism. */
  pid: number;
  /** Stops Prism and waits for it to exit. */
  close(): Promise<void>;
}

/** The bundled spec: `generated/openapi.json` beside `src/` (in the repository) or `dist/` (in the package). */
export function bundledSpecPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "generated", "openapi.json");
}

function prismEntry(): string {
  const require = createRequire(import.meta.url);
  let manifestPath: string;
  try {
    manifestPath = require.resolve("@stoplight/prism-cli/package.json");
  } catch {
    throw new Error(
      "startMockServer needs Prism, an optional peer dependency: npm install --save-dev @stoplight/prism-cli@5.14.2",
    );
  }
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.["prism"];
  if (!bin) throw new Error(`@stoplight/prism-cli at ${manifestPath} has no prism binary`);
  return join(dirname(manifestPath), bin);
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
 * Starts Prism on the bundled spec and resolves once it listens.
 * @example
 * const mock = await startMockServer();
 * const merge = createMergeCrmClient({ apiKey: "test", accountToken: "test", baseUrl: mock.url });
 * await merge.engagements.create({ subject: "hello" });
 * await mock.close();
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const entry = prismEntry();
  const port = options.port ?? (await freePort());
  const args = [entry, "mock", options.spec ?? bundledSpecPath(), "--host", "127.0.0.1", "--port", String(port)];
  if (options.errors ?? true) args.push("--errors");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  killAllOnExit();

  const recent: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  exited.then(() => running.delete(child), () => undefined);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Prism did not listen within ${options.startTimeoutMs ?? 30_000} ms:\n${recent.join("\n")}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim()) recent.push(line);
        if (recent.length > 40) recent.shift();
        if (line.includes("Prism is listening on")) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    // Keep draining both streams for the life of the process, or Prism blocks once the pipe is full.
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Prism exited with code ${String(code)} before listening:\n${recent.join("\n")}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
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
