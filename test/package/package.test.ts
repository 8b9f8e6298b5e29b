/**
 * Proof from the outside: pack the tarball, install it into a fresh project, then import it as ESM,
 * require it as CommonJS, type-check a consumer under TypeScript 5.9 and 7, and create an engagement
 * against the mock it ships (over the default fetch, and over merge-crm-engagements/undici), and deliver
 * rows through merge-crm-engagements/queue and a real Redis, and receive the mock's webhooks through
 * merge-crm-engagements/webhooks. Also checks the package with publint and attw.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createConsumer, packTarball, sh } from "../support/pack.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
let work: string;
let consumer: string;
let tarball: string;

function dirSize(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    return sum + (stat.isDirectory() ? dirSize(path) : stat.size);
  }, 0);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "merge-package-"));
  sh("npm", ["run", "-s", "build"], { cwd: root });
  const info = packTarball(root, work);
  tarball = info.tarball;
  process.stdout.write(`package: ${info.filename} packed ${info.size} B, unpacked ${info.unpackedSize} B, ${info.entryCount} files\n`);

  consumer = join(work, "consumer");
  createConsumer(consumer, [
    tarball, "typescript@5.9.3", "typescript7@npm:typescript@7.0.2", "@types/node@20", "@stoplight/prism-cli@5.14.2", "undici@7.30.2", "bullmq@6.7.0", "ioredis@5.11.1",
  ]);
  cpSync(fixtures, consumer, { recursive: true });
  process.stdout.write(`package: installed into a fresh project, ${Math.round(dirSize(join(consumer, "node_modules", "merge-crm-engagements")) / 1024)} KiB on disk\n`);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("publint and attw find no problem in the packed tarball", () => {
  const publint = sh(join(root, "node_modules/.bin/publint"), ["--pack", "false", "--strict"], { cwd: root });
  expect(publint).toContain("All good!");
  // node16 profile: Node 20+ and TypeScript 7 resolve through "exports" (node10 resolution is gone in TS 7).
  // attw exits non-zero on any problem in the profile; the JSON lists what it found, ignored ones included.
  const attw = JSON.parse(sh(join(root, "node_modules/.bin/attw"), [tarball, "--profile", "node16", "--format", "json"], { cwd: root })) as {
    problems?: Record<string, { resolutionKind?: string }[]>;
  };
  const counted = Object.values(attw.problems ?? {}).flat().filter((p) => p.resolutionKind !== "node10");
  expect(counted).toEqual([]);
}, 120_000);

test("npm publish --dry-run accepts the package", () => {
  // --ignore-scripts: the build ran once above; prepack would only repeat it.
  // --loglevel: an outer `npm run -s` would otherwise silence the line checked below.
  const out = sh("npm", ["publish", "--dry-run", "--ignore-scripts", "--loglevel=notice"], { cwd: root });
  expect(out).toContain("+ merge-crm-engagements@");
}, 120_000);

test("imported as an ES module, it creates an engagement against the bundled mock", () => {
  const out = JSON.parse(sh("node", ["run-esm.mjs"], { cwd: consumer }).trim()) as Record<string, string>;
  expect(out).toEqual({ id: "550e8400-e29b-41d4-a716-446655440000", validation: "/model/direction", specTitle: "Merge CRM Engagements API" });
}, 60_000);

test("required as CommonJS, it creates an engagement against the bundled mock", () => {
  const out = JSON.parse(sh("node", ["run-cjs.cjs"], { cwd: consumer }).trim()) as Record<string, unknown>;
  expect(out).toEqual({ id: "550e8400-e29b-41d4-a716-446655440000", apiError: true, spec: true });
}, 60_000);

test("with undici installed, merge-crm-engagements/undici creates an engagement against the mock (ESM and CommonJS)", () => {
  const out = JSON.parse(sh("node", ["run-undici.mjs"], { cwd: consumer }).trim()) as Record<string, unknown>;
  expect(out).toEqual({ ids: ["550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"] });
}, 60_000);

test("merge-crm-engagements/bulk (ESM and CommonJS) and the installed bin: rows written once with a journal, a bad row rejected, status agrees", () => {
  const out = JSON.parse(sh("node", ["run-bulk.mjs"], { cwd: consumer }).trim()) as Record<string, unknown>;
  expect(out).toMatchObject({
    first: { created: 2, rejected: 1, failed: 0 },
    outcomes: ["a:created", "b:created", "c:rejected"],
    rerun: { doneBefore: 3, created: 0 },
    status: { created: 2, rejected: 1, failed: 0 },
  });
}, 60_000);

test("merge-crm-engagements/queue (ESM and CommonJS) with bullmq and ioredis: a bad row refused, the others delivered once through a real Redis", () => {
  const out = JSON.parse(sh("node", ["run-queue.mjs"], { cwd: consumer }).trim()) as Record<string, unknown>;
  expect(out).toEqual({
    enqueued: ["queued", "queued", "rejected"],
    delivered: ["a:created", "b:created"],
    again: ["delivered-before"],
    counts: { waiting: 0, delayed: 0, active: 0, completed: 2, failed: 0 },
    sameFunction: true,
  });
}, 60_000);

test("merge-crm-engagements/webhooks (ESM and CommonJS): the mock's signed Engagement.added reaches a receiver made with the package, verified independently", () => {
  const out = JSON.parse(sh("node", ["run-webhooks.mjs"], { cwd: consumer }).trim()) as Record<string, unknown>;
  expect(out).toEqual({
    createdId: "550e8400-e29b-41d4-a716-446655440000",
    received: [{ event: "Engagement.added", id: "550e8400-e29b-41d4-a716-446655440000" }],
    independent: true,
    cjsVerifies: true,
    cjsRefusesTampered: true,
    esmVerifies: true,
    sameError: true,
  });
}, 60_000);

test.each([
  ["TypeScript 5.9", "node_modules/typescript/bin/tsc"],
  ["TypeScript 7", "node_modules/typescript7/bin/tsc"],
])("a consumer using every public method type-checks under %s, and its @ts-expect-error lines hold", (_name, tsc) => {
  const version = sh("node", [tsc, "--version"], { cwd: consumer });
  expect(version).toMatch(/Version (5\.9|7)\./);
  sh("node", [tsc, "-p", "tsconfig.json"], { cwd: consumer });
}, 120_000);

test("without Prism installed, the mock entry says how to install it", () => {
  const bare = join(work, "bare");
  createConsumer(bare, [tarball]);
  const script = 'import("merge-crm-engagements/mock").then((m) => m.startMockServer()).catch((e) => { console.log(e.message); });';
  expect(sh("node", ["--input-type=module", "-e", script], { cwd: bare })).toContain("npm install --save-dev @stoplight/prism-cli@5.14.2");

  // undici is an optional peer: not installed with the package, and importing the transport says how.
  const esm = 'import("merge-crm-engagements/undici").then(() => console.log("imported"), (e) => console.log(e.message));';
  expect(sh("node", ["--input-type=module", "-e", esm], { cwd: bare })).toContain("npm install undici@7");
  const cjs = 'try { require("merge-crm-engagements/undici"); console.log("required"); } catch (e) { console.log(e.message); }';
  expect(sh("node", ["--input-type=commonjs", "-e", cjs], { cwd: bare })).toContain("npm install undici@7");
  // bullmq and ioredis are optional peers of the queue: importing it without them says how to install them.
  const queue = 'import("merge-crm-engagements/queue").then(() => console.log("imported"), (e) => console.log(e.message));';
  expect(sh("node", ["--input-type=module", "-e", queue], { cwd: bare })).toContain("npm install bullmq@6 ioredis@5");
  // The webhooks entry needs no peer at all.
  const webhooks = 'import("merge-crm-engagements/webhooks").then((m) => console.log(typeof m.verifyMergeWebhook));';
  expect(sh("node", ["--input-type=module", "-e", webhooks], { cwd: bare })).toContain("function");
  // The core does not need it.
  const core = 'import("merge-crm-engagements").then((m) => console.log(typeof m.createMergeCrmClient));';
  expect(sh("node", ["--input-type=module", "-e", core], { cwd: bare })).toContain("function");
}, 120_000);
