/**
 * `npm run test:runtimes`: the packed tarball, installed into a fresh project, on every runtime users
 * run it on: Node 20 (this machine's), Node 22 and 24, Bun, Deno and Cloudflare's workerd. Each runs
 * the same scenario (test/runtimes/scenario/core.mjs) against a fake Merge API served by this process:
 * a create, a MergeValidationError, a typed 404, listAll over several pages and a timeout; as ESM
 * everywhere, and as CommonJS where the runtime has `require`. The runtimes are pinned in
 * test/runtimes/package-lock.json, each with its binary inside its npm package; they are installed
 * with `npm ci --ignore-scripts`, so nothing is downloaded at install time.
 *
 * Every report is checked here against what the fake API saw; a table is printed; any failure exits 1.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENGAGEMENT_COUNT, listedId, MISSING_ID, SLOW_ID, startFakeMerge, type FakeMerge } from "../test/runtimes/fake-merge.js";
import { root, step } from "./lib.js";
import { createConsumer, packTarball, sh } from "./pack.js";

const matrixDir = join(root, "test", "runtimes");
const bin = (path: string) => join(matrixDir, "node_modules", path);
const PAGE_SIZE = 3;
const EXPECTED_PAGES = Math.ceil(ENGAGEMENT_COUNT / PAGE_SIZE);
const TIMEOUT_MS = 300;
/**
 * workerd's behaviour is pinned to this date. From a compatibility date in August 2026 on, this workerd
 * turns Node.js compatibility on by default (node:crypto, Buffer, process), which would hide a
 * Node-only API in src/; so the two flags that switch it off are set, and no flag turns anything on.
 * The worker reports its `process` and `Buffer` globals, and they must be absent.
 */
const WORKERD_COMPATIBILITY_DATE = "2026-11-01";
const WORKERD_COMPATIBILITY_FLAGS = ["no_nodejs_compat", "no_nodejs_compat_v2"];

interface Runtime {
  /** The row's label. */
  label: string;
  /** What the scenario must report as its runtime. */
  name: "node" | "bun" | "deno" | "workerd";
  /** The executable. */
  command: string;
  /** Prints the version. */
  versionArgs: string[];
  /** Arguments before the scenario file. */
  runArgs: string[];
  cjs: boolean;
}

const runtimes: Runtime[] = [
  { label: `Node ${process.versions.node.split(".")[0] ?? "?"} (this machine)`, name: "node", command: process.execPath, versionArgs: ["--version"], runArgs: [], cjs: true },
  { label: "Node 22", name: "node", command: bin("node22/bin/node"), versionArgs: ["--version"], runArgs: [], cjs: true },
  { label: "Node 24", name: "node", command: bin("node24/bin/node"), versionArgs: ["--version"], runArgs: [], cjs: true },
  { label: "Bun", name: "bun", command: bin("@oven/bun-linux-x64/bin/bun"), versionArgs: ["--version"], runArgs: ["run"], cjs: true },
  {
    label: "Deno",
    name: "deno",
    command: bin("@deno/linux-x64-glibc/deno"),
    versionArgs: ["--version"],
    // Only the fake API on loopback and the project's own files; no lock file written, no npm fetch.
    runArgs: ["run", "--no-lock", "--cached-only", "--allow-net=127.0.0.1", "--allow-read=."],
    cjs: true,
  },
  {
    label: "workerd",
    name: "workerd",
    command: bin("@cloudflare/workerd-linux-64/bin/workerd"),
    versionArgs: ["--version"],
    runArgs: [],
    cjs: false,
  },
];

/** One scenario report, as core.mjs prints it. */
interface Observed<T> {
  ok: boolean;
  value?: T;
  error?: { name?: string; message?: string; thrown?: string };
}
type Value = Record<string, unknown>;
interface Report {
  loader: "esm" | "cjs";
  resolved: string | null;
  runtime: { name: string; version: string | null };
  create: Observed<Value>;
  validation: Observed<Value>;
  notFound: Observed<Value>;
  listAll: Observed<{ ids: string[] }>;
  timeout: Observed<Value>;
  account: Observed<Value>;
  warnings: string[];
  /** workerd only: `typeof` the Node globals inside the worker. */
  nodeGlobals?: Record<string, string>;
}

type CheckName = "load" | "create" | "validation" | "4xx" | "listAll" | "timeout" | "account";
interface Outcome {
  /** Per check: "ok"/a short summary, or the failure. */
  cells: Partial<Record<CheckName, { ok: boolean; text: string }>>;
  failures: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function same(actual: unknown, expected: unknown): boolean {
  return JSON.stringify(actual) === JSON.stringify(expected);
}

/**
 * Checks one report against what the fake API saw for its run. Every check is independent, so one
 * broken case does not hide the others.
 */
function checkReport(runtime: Runtime, run: string, report: Report, fake: FakeMerge): Outcome {
  const outcome: Outcome = { cells: {}, failures: [] };
  const cell = (name: CheckName, problems: string[], okText: string) => {
    outcome.cells[name] = { ok: problems.length === 0, text: problems.length === 0 ? okText : "FAIL" };
    for (const problem of problems) outcome.failures.push(`${run} ${name}: ${problem}`);
  };
  const arrivals = fake.arrivals(run);
  const failed = (observed: Observed<unknown>) =>
    observed.ok ? [] : [`threw ${observed.error?.name ?? ""}: ${observed.error?.message ?? observed.error?.thrown ?? ""}`];

  // Loaded the way it says, on the runtime it should be.
  {
    const problems: string[] = [];
    if (report.runtime.name !== runtime.name) problems.push(`ran on ${report.runtime.name}, expected ${runtime.name}`);
    const entry = report.loader === "cjs" ? /\/node_modules\/merge-crm-engagements\/dist\/index\.cjs$/ : /\/node_modules\/merge-crm-engagements\/dist\/index\.js$/;
    if (runtime.name !== "workerd" && !(report.resolved !== null && entry.test(report.resolved))) {
      problems.push(`resolved the package to ${String(report.resolved)}, expected ${String(entry)}`);
    }
    if (report.warnings.length > 0) problems.push(`logger.warn was called: ${report.warnings.join(" | ")}`);
    if (runtime.name === "workerd" && !same(report.nodeGlobals, { process: "undefined", Buffer: "undefined" })) {
      problems.push(`Node.js compatibility is on in the worker: ${JSON.stringify(report.nodeGlobals)}`);
    }
    cell("load", problems, "ok");
  }

  // A create: 201, the id the server gave, sent with the credentials and an Idempotency-Key.
  {
    const problems = failed(report.create);
    const posts = arrivals.filter((a) => a.method === "POST");
    const post = posts[0];
    if (posts.length !== 1) problems.push(`the server saw ${posts.length} POSTs, expected 1 (the valid create; the invalid one must send nothing)`);
    else if (post) {
      if (report.create.value?.id !== post.createdId) problems.push(`create resolved with id ${String(report.create.value?.id)}, the server gave ${String(post.createdId)}`);
      if (report.create.value?.subject !== `created on ${run}`) problems.push(`subject ${String(report.create.value?.subject)}`);
      if (post.authorization !== "Bearer runtime-matrix-key") problems.push("no Authorization: Bearer header");
      if (post.accountToken !== "runtime-matrix-token") problems.push("no X-Account-Token header");
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(post.idempotencyKey ?? "")) {
        problems.push(`Idempotency-Key ${String(post.idempotencyKey)} is not a UUIDv4`);
      }
      if (!same(post.body, { model: { subject: `created on ${run}`, direction: "OUTBOUND" } })) problems.push(`sent ${JSON.stringify(post.body)}`);
    }
    cell("create", problems, "201");
  }

  // A create the spec refuses: MergeValidationError at /model/direction.
  {
    const problems = failed(report.validation);
    const v = report.validation.value ?? {};
    if (!same(v, { name: "MergeValidationError", isClass: true, isMergeError: true, guard: true, pointers: ["/model/direction"] })) {
      problems.push(`observed ${JSON.stringify(v)}`);
    }
    cell("validation", problems, "/model/direction");
  }

  // A typed 4xx: MergeNotFoundError with the status, body and request id.
  {
    const problems = failed(report.notFound);
    const v = report.notFound.value ?? {};
    const expected = { name: "MergeNotFoundError", isClass: true, isApiError: true, status: 404, body: { detail: "Not found." }, requestId: `req-404-${run}`, method: "GET" };
    if (!same(v, expected)) problems.push(`observed ${JSON.stringify(v)}, expected ${JSON.stringify(expected)}`);
    if (!arrivals.some((a) => a.path === `/crm/v1/engagements/${MISSING_ID}` && a.status === 404)) problems.push("the server never answered the 404");
    cell("4xx", problems, "404 MergeNotFoundError");
  }

  // listAll: every engagement in order, one request per page, each following the previous `next`.
  let pages = 0;
  {
    const problems = failed(report.listAll);
    const expectedIds = Array.from({ length: ENGAGEMENT_COUNT }, (_, i) => listedId(i));
    if (!same(report.listAll.value?.ids, expectedIds)) problems.push(`ids ${JSON.stringify(report.listAll.value?.ids)}`);
    const lists = arrivals.filter((a) => a.method === "GET" && a.path === "/crm/v1/engagements");
    pages = lists.length;
    const expectedQueries = Array.from({ length: EXPECTED_PAGES }, (_, i) =>
      i === 0 ? { page_size: String(PAGE_SIZE) } : { page_size: String(PAGE_SIZE), cursor: `c${i * PAGE_SIZE}` },
    );
    if (!same(lists.map((a) => a.query), expectedQueries)) problems.push(`list requests ${JSON.stringify(lists.map((a) => a.query))}`);
    cell("listAll", problems, `${pages} pages, ${ENGAGEMENT_COUNT} items`);
  }

  // A timeout: MergeTimeoutError after about timeoutMs, not after the server's late answer.
  {
    const problems = failed(report.timeout);
    const v = report.timeout.value ?? {};
    const { elapsedMs, ...rest } = v;
    if (!same(rest, { name: "MergeTimeoutError", isClass: true, guard: true, timeoutMs: TIMEOUT_MS })) problems.push(`observed ${JSON.stringify(v)}`);
    if (typeof elapsedMs !== "number" || elapsedMs < TIMEOUT_MS - 50 || elapsedMs > TIMEOUT_MS + 1_500) {
      problems.push(`took ${String(elapsedMs)} ms for a ${TIMEOUT_MS} ms timeout`);
    }
    if (!arrivals.some((a) => a.path === `/crm/v1/engagements/${SLOW_ID}`)) problems.push("the slow request never reached the server");
    cell("timeout", problems, `${typeof elapsedMs === "number" ? elapsedMs : "?"} ms`);
  }

  // Account validation: one meta request; the create the account's CRM refuses is not sent.
  {
    const problems = failed(report.account);
    const expected = {
      name: "MergeValidationError",
      pointers: ["/model/linked_account_params"],
      required: ["/model/subject", "/model/linked_account_params", "/model/linked_account_params/activity_owner_email"],
    };
    if (!same(report.account.value, expected)) problems.push(`observed ${JSON.stringify(report.account.value)}, expected ${JSON.stringify(expected)}`);
    const metas = arrivals.filter((a) => a.path === "/crm/v1/engagements/meta/post").length;
    if (metas !== 1) problems.push(`the server saw ${metas} meta requests, expected 1 (cached)`);
    cell("account", problems, "meta schema");
  }
  return outcome;
}

function parseReport(stdout: string): Report {
  const line = stdout.trim().split("\n").pop() ?? "";
  const parsed: unknown = JSON.parse(line);
  if (!isRecord(parsed) || !isRecord(parsed.runtime)) throw new Error(`not a scenario report: ${line}`);
  return parsed as unknown as Report;
}

function runProcess(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function scenarioOptions(fake: FakeMerge, run: string): string {
  return JSON.stringify({ baseUrl: fake.url, run, missingId: MISSING_ID, slowId: SLOW_ID, pageSize: PAGE_SIZE });
}

/** Runs a scenario entry file of the consumer project as a process of `runtime`. */
async function runFile(runtime: Runtime, consumer: string, file: string, fake: FakeMerge, run: string, env: NodeJS.ProcessEnv): Promise<Report> {
  const result = await runProcess(runtime.command, [...runtime.runArgs, file, scenarioOptions(fake, run)], consumer, env);
  if (result.code !== 0) throw new Error(`exit code ${String(result.code)}\n${result.stdout}${result.stderr}`);
  return parseReport(result.stdout);
}

/**
 * workerd: the scenario and the client bundled into one worker module (node builtins left as imports,
 * so workerd itself refuses them), served with Node.js compatibility off, fetched once from here.
 */
async function runWorkerd(runtime: Runtime, consumer: string, fake: FakeMerge, run: string): Promise<Report> {
  const dir = join(consumer, "workerd");
  mkdirSync(dir, { recursive: true });
  // The matrix's own pinned esbuild (test/runtimes/package-lock.json), not whatever the repo's tools hoisted.
  const esbuild = createRequire(join(matrixDir, "package.json"))("esbuild") as typeof import("esbuild");
  await esbuild.build({
    entryPoints: [join(consumer, "scenario", "worker.mjs")],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", ...builtinModules],
    logLevel: "error",
  });
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .scenario),
    # workerd's default outbound refuses private and loopback addresses; the fake API is on 127.0.0.1.
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const scenario :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}",
  compatibilityFlags = [${WORKERD_COMPATIBILITY_FLAGS.map((flag) => JSON.stringify(flag)).join(", ")}],
  globalOutbound = "loopback",
);
`,
  );
  const port = await freePort();
  const child = spawn(runtime.command, ["serve", "config.capnp", "--socket-addr", `http=127.0.0.1:${port}`], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  try {
    const url = `http://127.0.0.1:${port}/?options=${encodeURIComponent(scenarioOptions(fake, run))}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`workerd exited with ${String(child.exitCode)}:\n${output}`);
      try {
        // A scenario that hangs inside the worker fails the row instead of the whole run.
        const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`the worker answered ${response.status}: ${text}\n${output}`);
        return parseReport(text);
      } catch (error) {
        const refused = error instanceof TypeError && Date.now() < deadline;
        if (!refused) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

function version(runtime: Runtime): string {
  if (runtime.command === process.execPath) return process.versions.node;
  // workerd --version prints a date; the npm package's version (1.<date>.<patch>) says more.
  if (runtime.name === "workerd") {
    const pkg = JSON.parse(readFileSync(bin("@cloudflare/workerd-linux-64/package.json"), "utf8")) as { version: string };
    return pkg.version;
  }
  const out = sh(runtime.command, runtime.versionArgs).trim();
  const match = /(\d+\.\d+\.\d+|\d{4}-\d{2}-\d{2})/.exec(out.split("\n")[0] ?? "");
  return match?.[1] ?? out;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(rows[0] ?? []), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), "merge-runtimes-"));
  try {
    step("npm run build");
    sh("npm", ["run", "-s", "build"], { cwd: root });

    step("npm pack");
    const packed = packTarball(root, work);
    console.log(`    ${packed.filename}, ${packed.size} B`);

    const installed = join(matrixDir, "node_modules", ".package-lock.json");
    if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(matrixDir, "package-lock.json")).mtimeMs) {
      step("npm ci --ignore-scripts in test/runtimes (the runtimes, binaries inside their packages)");
      const t = Date.now();
      sh("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: matrixDir });
      console.log(`    ${((Date.now() - t) / 1000).toFixed(1)} s`);
    } else {
      step("test/runtimes/node_modules is up to date with its lockfile");
    }
    for (const runtime of runtimes) {
      if (!existsSync(runtime.command)) throw new Error(`${runtime.label}: ${runtime.command} is missing (the matrix's binaries are for linux-x64)`);
    }

    step("a fresh project that installs the tarball");
    const consumer = join(work, "consumer");
    createConsumer(consumer, [packed.tarball]);
    cpSync(join(matrixDir, "scenario"), join(consumer, "scenario"), { recursive: true });

    step("the fake Merge API");
    const fake = await startFakeMerge();
    console.log(`    ${fake.url}`);

    const rows: string[][] = [["runtime", "version", "ESM", "CJS", "create", "validation", "4xx", "listAll", "timeout", "account"]];
    const failures: string[] = [];
    try {
      for (const runtime of runtimes) {
        const v = version(runtime);
        step(`${runtime.label} ${v}`);
        // Deno keeps its caches in a folder of this run, not in the user's home.
        const env = { ...process.env, DENO_DIR: join(work, "deno-dir"), DENO_NO_UPDATE_CHECK: "1" };
        const loaders: ("esm" | "cjs")[] = runtime.cjs ? ["esm", "cjs"] : ["esm"];
        const outcomes: Partial<Record<"esm" | "cjs", Outcome>> = {};
        for (const loader of loaders) {
          const run = `${runtime.label.replace(/\s+/g, "").toLowerCase()}-${loader}`;
          try {
            const report =
              runtime.name === "workerd"
                ? await runWorkerd(runtime, consumer, fake, run)
                : await runFile(runtime, consumer, loader === "cjs" ? "scenario/cjs.cjs" : "scenario/esm.mjs", fake, run, env);
            if (report.loader !== loader) throw new Error(`reported loader ${report.loader}, expected ${loader}`);
            if (runtime.name !== "workerd" && report.runtime.version !== v) throw new Error(`reported version ${String(report.runtime.version)}, expected ${v}`);
            outcomes[loader] = checkReport(runtime, run, report, fake);
          } catch (error) {
            outcomes[loader] = { cells: {}, failures: [`${run}: ${error instanceof Error ? error.message : String(error)}`] };
          }
          const failed = outcomes[loader]?.failures ?? [];
          failures.push(...failed);
          console.log(`    ${loader}: ${failed.length === 0 ? "every check passed" : `${failed.length} failed`}`);
          for (const failure of failed) console.log(`      ✗ ${failure}`);
        }
        const esm = outcomes.esm;
        const cjs = outcomes.cjs;
        const mark = (o: Outcome | undefined) => (o === undefined ? "n/a" : o.failures.length === 0 ? "✓" : "✗");
        const show = (name: CheckName) => {
          const c = esm?.cells[name];
          return c === undefined ? "✗" : c.ok ? `✓ ${c.text}` : "✗";
        };
        rows.push([runtime.label, v, mark(esm), mark(cjs), show("create"), show("validation"), show("4xx"), show("listAll"), show("timeout"), show("account")]);
      }
    } finally {
      await fake.close();
    }

    step("results (the check columns are the ESM run's; CJS ✓ means the same checks all passed through require)");
    console.log(table(rows));
    console.log(`    ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    if (failures.length > 0) {
      console.error(`\n${failures.length} check(s) failed:\n${failures.map((f) => `  ✗ ${f}`).join("\n")}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
