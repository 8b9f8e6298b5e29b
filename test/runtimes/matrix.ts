/**
 * `npm run test:runtimes`: the packed tarball, installed into a fresh project, on every runtime users
 * run it on: Node 20 (this machine's), Node 22 and 24, Bun, Deno and Cloudflare's workerd. Each runs
 * the same scenario (test/runtimes/scenario/core.mjs) against a fake Merge API served by this process:
 * a create, a MergeValidationError, a typed 404, listAll over several pages and a timeout; as ESM
 * everywhere, and as CommonJS where the runtime has `require`. The runtimes are pinned in
 * test/runtimes/package-lock.json, each with its binary inside its npm package; they are installed
 * with `npm ci --ignore-scripts`, so nothing is downloaded at install time.
 *
 * Each also runs test/runtimes/scenario/webhooks.mjs on `merge-crm-engagements/webhooks` (dist/webhooks.js
 * through import, dist/webhooks.cjs through require, bundled into the worker on workerd): a signed
 * Engagement.added delivery with non-ASCII text, its signature computed here with node:crypto, not by
 * the package; verify, sign, unwrap and the Request → Response handler. On workerd, a probe first shows
 * that a module importing a Node builtin is refused there, so a bundle that loads is edge-safe.
 *
 * Every report is checked here against what the fake API saw and the signature computed here; a table is
 * printed; any failure exits 1.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENGAGEMENT_COUNT, listedId, MISSING_ID, SLOW_ID, startMatrixMerge, type MatrixMerge } from "./matrix-merge.js";
import { root, step } from "../../scripts/lib.js";
import { buildIsFresh, createConsumer, packTarball, sh } from "../support/pack.js";
import { engagement, hook, LINKED_ACCOUNT } from "../webhooks/deliveries.js";

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

/**
 * The webhook delivery of the webhooks scenario: a realistic Engagement.added body (the shape of
 * openapi/components/examples/EngagementAddedEvent.yaml) with non-ASCII text, so the signature is over
 * UTF-8 bytes, not UTF-16 code units or Latin-1; signed here with node:crypto, independently of the package.
 */
const WEBHOOK_KEY = "runtime-matrix-webhook-signature-key";
const WEBHOOK_EVENT = {
  hook: hook("Engagement.added"),
  linked_account: LINKED_ACCOUNT,
  data: engagement({ content: "Rückruf vereinbart 📞; nächster Termin in 東京" }),
};
const WEBHOOK_BODY = JSON.stringify(WEBHOOK_EVENT);
const WEBHOOK_SIGNATURE = createHmac("sha256", WEBHOOK_KEY).update(WEBHOOK_BODY).digest("base64url");

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
  /** Where `merge-crm-engagements/webhooks` resolved to. */
  resolvedWebhooks: string | null;
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
  /** What webhooks.mjs reported. */
  webhooks?: WebhooksReport;
  /** workerd only, added here: the Node builtins the worker bundle imports (workerd refuses them). */
  bundleNodeImports?: string[];
}

/** What test/runtimes/scenario/webhooks.mjs prints. */
interface WebhooksReport {
  exports: Record<string, string>;
  bodyChars: number;
  bodyBytes: number;
  paddedLength: number;
  verify: Record<string, Observed<unknown>>;
  sign: Observed<unknown>;
  signBytes: Observed<unknown>;
  unwrap: Observed<Value>;
  unwrapTampered: Observed<Value>;
  handler: Observed<{ steps: Record<string, { status: number; calls: number }>; calls: Value[] }>;
}

type CheckName = "load" | "create" | "validation" | "4xx" | "listAll" | "timeout" | "account" | "webhooks";
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
function checkReport(runtime: Runtime, run: string, report: Report, fake: MatrixMerge): Outcome {
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
    const webhooksEntry =
      report.loader === "cjs" ? /\/node_modules\/merge-crm-engagements\/dist\/webhooks\.cjs$/ : /\/node_modules\/merge-crm-engagements\/dist\/webhooks\.js$/;
    if (runtime.name !== "workerd" && !(typeof report.resolvedWebhooks === "string" && webhooksEntry.test(report.resolvedWebhooks))) {
      problems.push(`resolved merge-crm-engagements/webhooks to ${String(report.resolvedWebhooks)}, expected ${String(webhooksEntry)}`);
    }
    if (runtime.name === "workerd" && (report.bundleNodeImports ?? []).length > 0) {
      problems.push(`the worker bundle imports Node builtins: ${(report.bundleNodeImports ?? []).join(", ")}`);
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

  // Webhooks: every expected value, against the signature computed here with node:crypto.
  {
    const { problems, checks } = checkWebhooks(report.webhooks);
    cell("webhooks", problems, `${checks} checks`);
  }
  return outcome;
}

/** Checks the webhooks scenario's report; `checks` counts the expectations it was held to. */
function checkWebhooks(report: WebhooksReport | undefined): { problems: string[]; checks: number } {
  const problems: string[] = [];
  let checks = 0;
  const expect = (what: string, actual: unknown, expected: unknown) => {
    checks++;
    if (!same(actual, expected)) problems.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  };
  /** An observed call's value, or its failure as the problem. */
  const value = (what: string, observed: Observed<unknown> | undefined, expected: unknown) => {
    if (observed === undefined) {
      checks++;
      problems.push(`${what}: not reported`);
    } else if (!observed.ok) {
      checks++;
      problems.push(`${what} threw ${observed.error?.name ?? ""}: ${observed.error?.message ?? observed.error?.thrown ?? ""}`);
    } else expect(what, observed.value, expected);
  };
  if (report === undefined) return { problems: ["the scenario reported no webhooks"], checks: 1 };

  const exported = ["verifyMergeWebhook", "signMergeWebhook", "unwrapMergeWebhook", "isMergeWebhookEvent", "createMergeWebhookHandler", "createMemoryWebhookDedupe", "createRedisWebhookDedupe", "MergeWebhookVerificationError"];
  expect("exports (typeof)", report.exports, Object.fromEntries(exported.map((name) => [name, "function"])));
  // The body arrived intact: as many UTF-16 code units and UTF-8 bytes as it has here.
  expect("body length (UTF-16 code units)", report.bodyChars, WEBHOOK_BODY.length);
  expect("body length (UTF-8 bytes)", report.bodyBytes, Buffer.byteLength(WEBHOOK_BODY, "utf8"));
  expect("padded signature length", report.paddedLength, 44);

  const verify: Record<string, boolean> = {
    valid: true,
    validBytes: true, // the body as a Uint8Array
    padded: true, // base64url with "=" padding
    tampered: false, // one byte of the body changed
    wrongKey: false,
    garbage: false, // not base64url
    empty: false,
    missing: false, // undefined
    null: false,
  };
  for (const [name, expected] of Object.entries(verify)) value(`verifyMergeWebhook (${name})`, report.verify[name], expected);

  value("signMergeWebhook (string)", report.sign, WEBHOOK_SIGNATURE);
  value("signMergeWebhook (Uint8Array)", report.signBytes, WEBHOOK_SIGNATURE);

  value("unwrapMergeWebhook", report.unwrap, {
    event: "Engagement.added",
    hookId: WEBHOOK_EVENT.hook.id,
    linkedAccountId: WEBHOOK_EVENT.linked_account.id,
    dataId: WEBHOOK_EVENT.data.id,
    subject: WEBHOOK_EVENT.data.subject,
    guard: true,
    otherGuard: false,
  });
  value("unwrapMergeWebhook (tampered body) rejects", report.unwrapTampered, {
    name: "MergeWebhookVerificationError",
    reason: "signature",
    isClass: true,
    isMergeError: true,
    guard: true,
  });

  const handler = report.handler;
  if (!handler.ok) value("createMergeWebhookHandler", handler, undefined);
  else {
    const { steps, calls } = handler.value ?? { steps: {}, calls: [] };
    expect("handler: POST signed", steps.signed, { status: 200, calls: 1 });
    expect("handler: the same delivery again (deduplicated)", steps.again, { status: 200, calls: 1 });
    expect("handler: POST with a bad signature", steps.badSignature, { status: 401, calls: 1 });
    expect("handler: POST without a signature", steps.noSignature, { status: 401, calls: 1 });
    expect("handler: GET", steps.get, { status: 405, calls: 1 });
    expect("handler: onEvent's calls", calls, [{ event: "Engagement.added", dataId: WEBHOOK_EVENT.data.id, idType: "string", idEmpty: false }]);
  }
  return { problems, checks };
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

function scenarioOptions(fake: MatrixMerge, run: string): string {
  return JSON.stringify({
    baseUrl: fake.url,
    run,
    missingId: MISSING_ID,
    slowId: SLOW_ID,
    pageSize: PAGE_SIZE,
    webhook: { body: WEBHOOK_BODY, signature: WEBHOOK_SIGNATURE, key: WEBHOOK_KEY },
  });
}

/** Runs a scenario entry file of the consumer project as a process of `runtime`. */
async function runFile(runtime: Runtime, consumer: string, file: string, fake: MatrixMerge, run: string, env: NodeJS.ProcessEnv): Promise<Report> {
  const result = await runProcess(runtime.command, [...runtime.runArgs, file, scenarioOptions(fake, run)], consumer, env);
  if (result.code !== 0) throw new Error(`exit code ${String(result.code)}\n${result.stdout}${result.stderr}`);
  return parseReport(result.stdout);
}

/** The workerd config: one worker module, Node.js compatibility off, outbound allowed to loopback. */
function writeWorkerdConfig(dir: string, module: string): void {
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
  modules = [(name = "worker.js", esModule = embed "${module}")],
  compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}",
  compatibilityFlags = [${WORKERD_COMPATIBILITY_FLAGS.map((flag) => JSON.stringify(flag)).join(", ")}],
  globalOutbound = "loopback",
);
`,
  );
}

/**
 * Serves dir/config.capnp with workerd and fetches `path` once: the answer, or `exited` with workerd's
 * output when it stopped before answering (as it does when a module fails to load).
 */
async function serveWorkerd(
  runtime: Runtime,
  dir: string,
  path: string,
): Promise<{ exited: false; status: number; text: string; output: string } | { exited: true; code: number | null; output: string }> {
  const port = await freePort();
  const child = spawn(runtime.command, ["serve", "config.capnp", "--socket-addr", `http=127.0.0.1:${port}`], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) return { exited: true, code: child.exitCode, output };
      try {
        // A scenario that hangs inside the worker fails the row instead of the whole run.
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(60_000) });
        return { exited: false, status: response.status, text: await response.text(), output };
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

/**
 * What makes a worker that loads edge-safe: workerd, as configured here, refuses a module that imports a
 * Node builtin. Shown, not assumed: a worker importing node:crypto must fail to load with "No such module".
 * Returns the problem, or null.
 */
async function probeWorkerdRefusesNodeBuiltins(runtime: Runtime, consumer: string): Promise<string | null> {
  const dir = join(consumer, "workerd-probe");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "probe.js"), `import { createHmac } from "node:crypto";\nexport default { fetch: () => new Response(typeof createHmac) };\n`);
  writeWorkerdConfig(dir, "probe.js");
  const result = await serveWorkerd(runtime, dir, "/");
  if (result.exited && /No such module "node:crypto"/.test(result.output)) return null;
  return result.exited
    ? `a worker importing node:crypto stopped workerd for another reason (exit ${String(result.code)}): ${result.output.trim()}`
    : `a worker importing node:crypto loaded and answered ${result.status} ${JSON.stringify(result.text)}: Node builtins are not refused, so this row proves nothing about edge-safety`;
}

/**
 * workerd: the scenarios and the package (both entries) bundled into one worker module (node builtins
 * left as imports, so workerd itself refuses them), served with Node.js compatibility off, fetched once.
 */
async function runWorkerd(runtime: Runtime, consumer: string, fake: MatrixMerge, run: string): Promise<Report> {
  const dir = join(consumer, "workerd");
  mkdirSync(dir, { recursive: true });
  // The matrix's own pinned esbuild (test/runtimes/package-lock.json), not whatever the repo's tools hoisted.
  const esbuild = createRequire(join(matrixDir, "package.json"))("esbuild") as typeof import("esbuild");
  const built = await esbuild.build({
    entryPoints: [join(consumer, "scenario", "worker.mjs")],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", ...builtinModules],
    metafile: true,
    logLevel: "error",
  });
  // Which bundled file imports which Node builtin: named in the failure if workerd refuses the bundle.
  const nodeImports = Object.entries(built.metafile.inputs).flatMap(([input, { imports }]) =>
    imports.filter((i) => i.external === true).map((i) => `${i.path} (imported by ${input.replace(/^.*?node_modules\//, "")})`),
  );
  writeWorkerdConfig(dir, "worker.js");
  const result = await serveWorkerd(runtime, dir, `/?options=${encodeURIComponent(scenarioOptions(fake, run))}`);
  const imports = nodeImports.length > 0 ? `\nthe bundle imports Node builtins: ${nodeImports.join(", ")}` : "";
  if (result.exited) throw new Error(`workerd exited with ${String(result.code)}:\n${result.output}${imports}`);
  if (result.status !== 200) throw new Error(`the worker answered ${result.status}: ${result.text}\n${result.output}${imports}`);
  return { ...parseReport(result.text), bundleNodeImports: nodeImports };
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
    if (buildIsFresh(root)) step("dist/ is newer than src/, generated/ and the build's configuration: packing it as built");
    else {
      step("npm run build");
      sh("npm", ["run", "-s", "build"], { cwd: root });
    }

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
    const fake = await startMatrixMerge();
    console.log(`    ${fake.url}`);

    const rows: string[][] = [["runtime", "version", "ESM", "CJS", "create", "validation", "4xx", "listAll", "timeout", "account", "webhooks"]];
    const failures: string[] = [];
    try {
      for (const runtime of runtimes) {
        const v = version(runtime);
        step(`${runtime.label} ${v}`);
        // Deno keeps its caches in a folder of this run, not in the user's home.
        const env = { ...process.env, DENO_DIR: join(work, "deno-dir"), DENO_NO_UPDATE_CHECK: "1" };
        const loaders: ("esm" | "cjs")[] = runtime.cjs ? ["esm", "cjs"] : ["esm"];
        const outcomes: Partial<Record<"esm" | "cjs", Outcome>> = {};
        // workerd: first, that it refuses Node builtins at all (else a bundle that loads proves nothing).
        const probe = runtime.name === "workerd" ? await probeWorkerdRefusesNodeBuiltins(runtime, consumer).catch((error: unknown) => String(error)) : null;
        if (runtime.name === "workerd") console.log(`    a worker importing node:crypto: ${probe === null ? "refused (No such module)" : `✗ ${probe}`}`);
        for (const loader of loaders) {
          const run = `${runtime.label.replace(/\s+/g, "").toLowerCase()}-${loader}`;
          try {
            const report =
              runtime.name === "workerd"
                ? await runWorkerd(runtime, consumer, fake, run)
                : await runFile(runtime, consumer, loader === "cjs" ? "scenario/cjs.cjs" : "scenario/esm.mjs", fake, run, env);
            if (report.loader !== loader) throw new Error(`reported loader ${report.loader}, expected ${loader}`);
            if (runtime.name !== "workerd" && report.runtime.version !== v) throw new Error(`reported version ${String(report.runtime.version)}, expected ${v}`);
            const outcome = checkReport(runtime, run, report, fake);
            if (probe !== null) {
              outcome.failures.push(`${run} load: ${probe}`);
              outcome.cells.load = { ok: false, text: "FAIL" };
            }
            outcomes[loader] = outcome;
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
        rows.push([runtime.label, v, mark(esm), mark(cjs), show("create"), show("validation"), show("4xx"), show("listAll"), show("timeout"), show("account"), show("webhooks")]);
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
