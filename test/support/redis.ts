/**
 * A real Redis for the queue tests: Debian's `redis-server` as a child process on a free loopback port,
 * in a fresh temporary `--dir`, with no persistence by default or an AOF fsynced on every write (so a
 * SIGKILL loses nothing a client saw acknowledged, and `restart()` finds it again). `useRedis()` gives
 * a jest file one server; `startRedis()` is for tests that need several or their own lifecycle.
 *
 * A server must not outlive the process that started it. On Linux it is started through `setpriv
 * --pdeathsig KILL`, so the kernel kills it when its parent dies, however that happens; jest's
 * sandboxed `process` never emits "exit" to a test file's listeners, so an exit hook alone would not
 * do. The exit hook below is for plain scripts, and where `setpriv` is missing.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort } from "./loopback.js";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The running server's pid; a new one after `restart()`. */
  pid: number;
  /** Redis's `--dir`, where the AOF lives. */
  dir: string;
  /** Whether it writes an AOF (`--appendonly yes --appendfsync always`). */
  aof: boolean;
  /**
   * SIGTERM, wait for the exit (SIGKILL after 3 s), then remove `dir` unless `keepDir` or the caller
   * chose `dir`.
   */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILL and wait for the exit, for crash tests. `dir` is kept. */
  kill(): Promise<void>;
  /** Start again on the same port and `dir` (stopping it first if it runs), and wait for PING. */
  restart(): Promise<void>;
  /** Runs `redis-cli -p <port> ...args` and resolves with its stdout, without the final newline. */
  command(...args: string[]): Promise<string>;
}

const REDIS_SERVER = "/usr/bin/redis-server";
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const PORT_ATTEMPTS = 5;

const running = new Map<number, ChildProcess>();
const createdDirs = new Set<string>();
let exitHookInstalled = false;

export async function startRedis(options: { aof?: boolean; dir?: string } = {}): Promise<RedisServer> {
  const aof = options.aof ?? false;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "merge-redis-"));
  if (ownsDir) createdDirs.add(dir);

  let instance: Instance | undefined;
  for (let attempt = 1; instance === undefined; attempt++) {
    const port = await freeLoopbackPort();
    try {
      instance = await launch(port, dir, aof);
    } catch (error) {
      // Another process can take the port between our probe closing it and Redis binding it.
      if (!(error instanceof BindError) || attempt === PORT_ATTEMPTS) {
        if (ownsDir) await removeDir(dir);
        throw error;
      }
    }
  }

  let current = instance;
  const port = current.port;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return current.child.pid!;
    },
    dir,
    aof,
    async stop({ keepDir = false } = {}) {
      await current.terminate("SIGTERM");
      if (ownsDir && !keepDir) await removeDir(dir);
    },
    async kill() {
      await current.terminate("SIGKILL");
    },
    async restart() {
      await current.terminate("SIGTERM");
      current = await launch(port, dir, aof);
    },
    command: (...args) => redisCli(port, args),
  };
}

/**
 * One Redis for a jest file: started in `beforeAll`, stopped in `afterAll`. Call the getter inside
 * tests (or hooks), not at the top level, where the server does not exist yet. Jest runs `afterAll`
 * hooks in the order they are declared: declare the one that closes your clients before `useRedis()`
 * (or in a `describe` block), or they close against a stopped server and ioredis keeps a 2 s timer
 * open past the run ("Jest did not exit one second after the test run has completed").
 * @example
 * let client: Redis;
 * afterAll(() => client.quit());
 * const redis = useRedis();
 * beforeAll(() => { client = new Redis(redis().url); });
 * test("...", async () => { await redis().command("SET", "k", "v"); });
 */
export function useRedis(options: { aof?: boolean } = {}): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis(options);
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return () => {
    if (!server) throw new Error("useRedis(): the server exists only inside tests and hooks, after beforeAll");
    return server;
  };
}

interface Instance {
  port: number;
  child: ChildProcess;
  /** Sends `signal` unless it has already exited, and resolves once it has (SIGKILL after 3 s). */
  terminate(signal: NodeJS.Signals): Promise<void>;
}

class BindError extends Error {}

async function launch(port: number, dir: string, aof: boolean): Promise<Instance> {
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--protected-mode", "no",
    "--dir", dir,
    "--save", "",
    ...(aof ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    "--maxmemory-policy", "noeviction",
    "--daemonize", "no",
    "--logfile", "",
  ];
  const child = existsSync("/usr/bin/setpriv")
    ? spawn("/usr/bin/setpriv", ["--pdeathsig", "KILL", REDIS_SERVER, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) running.set(child.pid, child);
  killAllOnExit();
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split("\n").filter(Boolean));
    output.splice(0, output.length - 50);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  // "close" rather than "exit": it comes after the streams have ended, so the output is complete.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  void closed.then(() => running.delete(child.pid!));

  const terminate = async (signal: NodeJS.Signals) => {
    const send = (signal: NodeJS.Signals) => {
      if (!hasExited()) process.kill(child.pid!, signal);
    };
    send(signal);
    const escalate = setTimeout(() => send("SIGKILL"), STOP_GRACE_MS);
    await closed;
    clearTimeout(escalate);
  };

  const failure = (what: string) =>
    `redis-server on 127.0.0.1:${port} (dir ${dir}) ${what}; its output:\n${output.join("\n") || "(none)"}`;
  const ready = await Promise.race([waitForPong(port, hasExited), spawnError]);
  if (ready instanceof Error) throw new Error(`could not start ${REDIS_SERVER}: ${ready.message}`);
  if (ready) return { port, child, terminate };
  if (!hasExited()) {
    await terminate("SIGKILL");
    throw new Error(failure(`did not answer PING within ${READY_TIMEOUT_MS / 1000} s`));
  }
  await closed;
  const message = failure(`exited before answering PING (code ${child.exitCode}, signal ${child.signalCode})`);
  throw output.some((line) => line.includes("Address already in use")) ? new BindError(message) : new Error(message);
}

/** Polls with a raw `PING` until `+PONG`; `false` on timeout or when `gone()` says the server exited. */
async function waitForPong(port: number, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !gone()) {
    if (await ping(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      // While it loads the AOF, Redis answers -LOADING: not ready yet.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

function redisCli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli -p ${port} ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(stdout.replace(/\n$/, ""));
    });
  });
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  createdDirs.delete(dir);
}

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running.values()) child.kill("SIGKILL");
    for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
  });
}
