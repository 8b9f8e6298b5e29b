/**
 * A real PostgreSQL for the mirror tests: Debian's server binaries (the highest version under
 * `/usr/lib/postgresql/<version>/bin`, which is not on PATH), a fresh cluster in a temporary directory,
 * serving `127.0.0.1` on a free port with trust authentication and its Unix socket inside that directory.
 * `usePostgres()` gives a jest file one server; `startPostgres()` is for tests that need several or their
 * own lifecycle.
 *
 * Postgres refuses to run as root, so when the tests run as root every Postgres program runs as the
 * `postgres` user (through `setpriv`, else `runuser`) and the directory is handed to that user.
 *
 * `postgres` itself is this process's child rather than a daemon started by `pg_ctl`: started through
 * `setpriv --pdeathsig KILL`, the kernel kills it when the jest worker dies, however that happens, and its
 * own children exit when they see it gone. `stop()` sends SIGINT, which is what `pg_ctl stop -m fast`
 * sends. The exit hook below is for plain scripts, and where `setpriv` is missing.
 *
 * A cluster is a copy of a template made by `initdb` once per machine (user and major version) and kept
 * in the temporary directory as `merge-postgres-template-<version>-<uid>`: copying its 40 MB takes a
 * quarter of the time `initdb` does, and a start takes 0.3-0.8 s instead of 1.3-1.7 s (on the 2-core
 * machine, loaded by other test runs).
 *
 * `fsync` is off: the data still reaches the kernel at each commit, so a killed server loses nothing a
 * client saw committed; only a crash of the machine itself could.
 */
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freeLoopbackPort } from "./loopback.js";

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication: no password). */
  url: string;
  port: number;
  /** The running postmaster's pid; a new one after `restart()`. */
  readonly pid: number;
  /** The temporary directory: the Unix socket lives here, the cluster in `dataDir`. */
  dir: string;
  /** The cluster's data directory, `<dir>/data`. */
  dataDir: string;
  /** The server's major version, e.g. `15`. */
  version: number;
  /**
   * Fast shutdown (SIGINT: open transactions are rolled back, clients disconnected), wait for the
   * postmaster to exit (SIGKILL after 10 s), then remove `dir` unless `keepDir`.
   */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /**
   * SIGKILL the postmaster and every process it started, and wait for them to be gone, for crash tests.
   * `dir` is kept; `restart()` then starts with crash recovery, as after a power cut.
   */
  kill(): Promise<void>;
  /** Start again on the same port and data (stopping it first if it runs), and wait until it is ready. */
  restart(): Promise<void>;
}

const POSTGRES_ROOT = "/usr/lib/postgresql";
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const PORT_ATTEMPTS = 5;

/** Our child's pid (setpriv's or runuser's, which is the postmaster's under setpriv) to the postmaster's. */
const running = new Map<number, number>();
const createdDirs = new Set<string>();
let exitHookInstalled = false;

/** Creates a cluster in a new temporary directory and starts it. */
export async function startPostgres(): Promise<PostgresServer> {
  const { bin, version } = findBinaries();
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), "merge-postgres-"));
  createdDirs.add(dir);
  killAllOnExit();
  const dataDir = join(dir, "data");
  let instance: Instance | undefined;
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    await run(owner, "cp", ["-a", await template(owner, bin, version), dataDir], dir);
    for (let attempt = 1; instance === undefined; attempt++) {
      const port = await freeLoopbackPort();
      try {
        instance = await launch({ bin, owner, dir, dataDir, port });
      } catch (error) {
        // Another process can take the port between our probe closing it and Postgres binding it.
        if (!(error instanceof BindError) || attempt === PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await removeDir(dir);
    throw error;
  }

  let current = instance;
  const port = current.port;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get pid() {
      return current.pid;
    },
    dir,
    dataDir,
    version,
    async stop({ keepDir = false } = {}) {
      await current.terminate("SIGINT");
      if (!keepDir) await removeDir(dir);
    },
    async kill() {
      await current.killAll();
    },
    async restart() {
      await current.terminate("SIGINT");
      current = await launch({ bin, owner, dir, dataDir, port });
    },
  };
}

/**
 * One Postgres for a jest file: started in `beforeAll`, stopped in `afterAll`. Call the getter inside
 * tests (or hooks), not at the top level, where the server does not exist yet. Jest runs `afterAll`
 * hooks in the order they are declared: declare the one that ends your pools before `usePostgres()`, so
 * they end before the server stops. `restart()`, `kill()` and `stop()` end the connections open: a
 * `pg.Pool` emits "error" for each idle one, which throws unless the pool has a listener.
 * @example
 * let pool: pg.Pool;
 * afterAll(() => pool.end());
 * const postgres = usePostgres();
 * beforeAll(() => {
 *   pool = new pg.Pool({ connectionString: postgres().url });
 *   pool.on("error", () => {}); // the restarts' disconnections; the next query connects again
 * });
 * test("...", async () => { await pool.query("SELECT 1"); });
 */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, READY_TIMEOUT_MS + 10_000);
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return () => {
    if (!server) throw new Error("usePostgres(): the server exists only inside tests and hooks, after beforeAll");
    return server;
  };
}

interface Owner {
  uid: number;
  gid: number;
}

interface Instance {
  port: number;
  pid: number;
  /** Sends `signal` unless it has already exited, and resolves once it has (SIGKILL after 10 s). */
  terminate(signal: NodeJS.Signals): Promise<void>;
  /** SIGKILL the postmaster and its children, and resolve once they are all gone. */
  killAll(): Promise<void>;
}

class BindError extends Error {}

function findBinaries(): { bin: string; version: number } {
  const versions = existsSync(POSTGRES_ROOT)
    ? readdirSync(POSTGRES_ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(POSTGRES_ROOT, name, "bin", "postgres")))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  const version = versions[0];
  if (version === undefined) {
    throw new Error(`no PostgreSQL server under ${POSTGRES_ROOT}/<version>/bin: install Debian's postgresql package (.ci/run does)`);
  }
  return { bin: join(POSTGRES_ROOT, String(version), "bin"), version };
}

/** The template cluster's data directory, made now if no earlier run has. */
async function template(owner: Owner | undefined, bin: string, version: number): Promise<string> {
  const path = join(tmpdir(), `merge-postgres-template-${version}-${owner?.uid ?? process.getuid?.() ?? "user"}`);
  if (existsSync(join(path, "PG_VERSION"))) return path;
  const building = mkdtempSync(join(tmpdir(), "merge-postgres-template-"));
  try {
    if (owner) chownSync(building, owner.uid, owner.gid);
    const dataDir = join(building, "data");
    await run(owner, join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], building);
    // The rename is atomic, so no test copies a half-made template; when a test in another worker has
    // made one meanwhile, theirs stays and ours is removed below.
    try {
      renameSync(dataDir, path);
    } catch (error) {
      if (!existsSync(join(path, "PG_VERSION"))) throw error;
    }
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return path;
}

function postgresUser(): Owner {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((entry) => entry.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new Error("running as root, and there is no postgres user to run PostgreSQL as");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * The command that runs `program` as `owner` (as ourselves when there is none), with `pdeathsig` when
 * `setpriv` exists. setpriv execs the program in its own process, so the pid we see is the program's.
 */
function commandAs(owner: Owner | undefined, program: string, args: string[], pdeathsig: boolean): [string, string[]] {
  const setpriv = existsSync("/usr/bin/setpriv");
  const user = owner ? [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--init-groups"] : [];
  const death = pdeathsig ? ["--pdeathsig", "KILL"] : [];
  if (setpriv && (owner || pdeathsig)) return ["/usr/bin/setpriv", [...user, ...death, "--", program, ...args]];
  if (!owner) return [program, args];
  return ["runuser", ["-u", "postgres", "--", program, ...args]];
}

function run(owner: Owner | undefined, program: string, args: string[], cwd: string): Promise<void> {
  const [command, argv] = commandAs(owner, program, args, false);
  return new Promise((resolve, reject) => {
    // The cwd is the postgres user's: initdb warns when it cannot read the one it inherits.
    const child = spawn(command, argv, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(" ")} failed (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

async function launch(options: { bin: string; owner: Owner | undefined; dir: string; dataDir: string; port: number }): Promise<Instance> {
  const { bin, owner, dir, dataDir, port } = options;
  const args = [
    "-D", dataDir,
    "-p", String(port),
    "-c", "listen_addresses=127.0.0.1",
    "-c", `unix_socket_directories=${dir}`,
    "-c", "fsync=off",
  ];
  const [command, argv] = commandAs(owner, join(bin, "postgres"), args, true);
  const child = spawn(command, argv, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) running.set(child.pid, child.pid);
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

  // Under runuser our child is runuser, not the postmaster: signal the postmaster once its pid is known.
  let postmaster = child.pid!;
  const send = (signal: NodeJS.Signals) => {
    if (!hasExited()) process.kill(postmaster, signal);
  };
  const terminate = async (signal: NodeJS.Signals) => {
    send(signal);
    const escalate = setTimeout(() => send("SIGKILL"), STOP_GRACE_MS);
    await closed;
    clearTimeout(escalate);
  };
  const failure = (what: string) =>
    `postgres on 127.0.0.1:${port} (data ${dataDir}) ${what}; its output:\n${output.join("\n") || "(none)"}`;

  // After kill() the old postmaster.pid is left behind, still saying "ready": only our postmaster's counts.
  const ours = (pid: number) => pid === child.pid || parentOf(pid) === child.pid;
  const ready = await Promise.race([waitForReady(dataDir, ours, hasExited), spawnError]);
  if (ready instanceof Error) throw new Error(`could not start ${join(bin, "postgres")}: ${ready.message}`);
  if (ready !== undefined) {
    const pid = (postmaster = ready);
    running.set(child.pid!, pid);
    const killAll = async () => {
      if (hasExited()) return;
      // Stopped, the postmaster cannot start another child between our listing its children and killing it.
      process.kill(pid, "SIGSTOP");
      const children = childrenOf(pid);
      process.kill(pid, "SIGKILL");
      for (const orphan of children) signalQuietly(orphan, "SIGKILL");
      // runuser stops itself when its child stops: woken, it reaps the postmaster. Were it killed, the
      // postmaster would stay a zombie until init reaps it, and Postgres takes a zombie for a live
      // postmaster holding the data directory ("lock file postmaster.pid already exists").
      if (child.pid !== pid) signalQuietly(child.pid!, "SIGCONT");
      await closed;
      while (children.some(isRunning)) await sleep(10);
    };
    return { port, pid, terminate, killAll };
  }
  if (!hasExited()) {
    await terminate("SIGKILL");
    throw new Error(failure(`was not ready within ${READY_TIMEOUT_MS / 1000} s`));
  }
  await closed;
  const message = failure(`exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`);
  throw output.some((line) => line.includes("Address already in use")) ? new BindError(message) : new Error(message);
}

/**
 * Polls `postmaster.pid` until it names a postmaster that is `ours` and its status line says "ready"
 * (accepting connections, after any crash recovery), and resolves with that pid; `undefined` on timeout
 * or when `gone()` says the server exited.
 */
async function waitForReady(dataDir: string, ours: (pid: number) => boolean, gone: () => boolean): Promise<number | undefined> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !gone()) {
    const lines = await readFile(join(dataDir, "postmaster.pid"), "utf8").then((text) => text.split("\n"), () => []);
    // Line 8 is the postmaster's status (src/include/utils/pidfile.h: LOCK_FILE_LINE_PM_STATUS).
    const pid = Number(lines[0]);
    if (lines[7]?.trim() === "ready" && ours(pid)) return pid;
    await sleep(10);
  }
  return undefined;
}

function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && parentOf(Number(entry)) === pid)
    .map(Number);
}

/** The state and parent pid from `/proc/<pid>/stat`, or `undefined` once the process is gone. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces: the state and the parent's pid follow it.
    const [state = "", ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

const parentOf = (pid: number) => procStat(pid)?.ppid;

/** Alive and not a zombie: a killed child reparented to an init that reaps late is already gone for us. */
function isRunning(pid: number): boolean {
  const state = procStat(pid)?.state;
  return state !== undefined && state !== "Z";
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  createdDirs.delete(dir);
}

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [child, postmaster] of running) {
      signalQuietly(postmaster, "SIGKILL");
      signalQuietly(child, "SIGKILL");
    }
    for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
  });
}
