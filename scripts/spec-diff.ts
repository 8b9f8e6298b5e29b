/**
 * The breaking-change gate: compares the spec in the work tree with the spec at a git ref, using
 * Optic's differ and its breaking-changes ruleset (@useoptic/openapi-utilities, @useoptic/standard-
 * rulesets), fed with both specs bundled by Redocly. This script only resolves the ref, bundles,
 * prints and compares versions; it decides nothing about what is breaking.
 *
 * Usage: `npm run spec:diff -- [--base GIT_REF] [--markdown] [--release]`
 * - `--base GIT_REF`: the spec to compare with (default: the newest `v*` tag, else `HEAD~1`).
 * - `--release`: compare with the newest `v*` tag only; with none, say so and pass (what `npm test` runs).
 * - `--markdown`: print the changes as a CHANGELOG section.
 * Exits 1 when a change is breaking and package.json's version is not a major bump over the version at
 * the ref (below 1.0.0, a minor bump counts as major); else 0.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOpenAPIVersion, denormalize, parseOpenAPIWithSourcemap } from "@useoptic/openapi-io";
import { compareSpecs } from "@useoptic/openapi-utilities";
import { RuleRunner } from "@useoptic/rulesets-base";
import { BreakingChangesRuleset } from "@useoptic/standard-rulesets";
import { root, run, step } from "./lib.js";

interface Options {
  base: string | undefined;
  markdown: boolean;
  release: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { base: undefined, markdown: false, release: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--markdown") options.markdown = true;
    else if (arg === "--release") options.release = true;
    else if (arg === "--base") {
      const value = argv[++i];
      if (!value) fail("--base needs a git ref");
      options.base = value;
    } else if (arg?.startsWith("--base=")) options.base = arg.slice("--base=".length);
    else fail(`unknown argument ${String(arg)} (usage: spec:diff -- [--base GIT_REF] [--markdown] [--release])`);
  }
  return options;
}

function fail(message: string): never {
  console.error(`spec:diff: ${message}`);
  process.exit(2);
}

function git(args: readonly string[]): { ok: boolean; stdout: string } {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { ok: result.status === 0, stdout: result.stdout ?? "" };
}

/** The ref to compare with, or a sentence saying why there is none (and the gate passes). */
function resolveBase(options: Options): { ref: string } | { skip: string } {
  if (options.base !== undefined) {
    if (!git(["rev-parse", "--verify", "--quiet", `${options.base}^{commit}`]).ok) fail(`${options.base} is not a commit here`);
    return { ref: options.base };
  }
  const newestTag = git(["tag", "--list", "v*", "--sort=-v:refname"]).stdout.split("\n")[0]?.trim();
  if (newestTag) return { ref: newestTag };
  if (options.release) return { skip: "no v* release tag in this repository (a clone without tags, or nothing released yet): nothing to compare with" };
  if (git(["rev-parse", "--verify", "--quiet", "HEAD~1^{commit}"]).ok) return { ref: "HEAD~1" };
  return { skip: "no v* tag and no previous commit (a shallow clone?): nothing to compare with" };
}

interface Loaded {
  jsonLike: Parameters<typeof compareSpecs>[0]["jsonLike"];
  sourcemap: Parameters<typeof compareSpecs>[0]["sourcemap"];
  isEmptySpec: boolean;
}

/** Parses a bundled spec the way Optic's CLI does (dereferenced, then denormalized). */
async function load(file: string): Promise<Loaded> {
  const parsed = await parseOpenAPIWithSourcemap<Loaded["jsonLike"]>(file);
  const version = checkOpenAPIVersion(parsed.jsonLike);
  const { jsonLike } = denormalize(parsed, version);
  // compareSpecs reads only jsonLike; the sourcemap serves Optic's own printers, which we do not use.
  return { jsonLike, sourcemap: { rootFilePath: file, files: [], refMappings: {} }, isEmptySpec: false };
}

interface Change {
  operation: string;
  /** Only descriptions, summaries, examples or code samples changed: counted, not listed. */
  docs: boolean;
  kind: "added" | "removed" | "changed";
  location: string;
  pointer: string;
}

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

function segments(pointer: string): string[] {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

const DOC_KEYS = new Set(["description", "summary", "example", "examples", "externalDocs", "x-codeSamples"]);

function describe(pointer: string, kind: Change["kind"]): Change {
  const parts = segments(pointer);
  // A key under `properties` is a field's name (a field may be called `description`), not documentation.
  const docs = parts.some((part, i) => DOC_KEYS.has(part) && parts[i - 1] !== "properties");
  const [top, path, method, ...rest] = parts;
  if (top === "paths" && path !== undefined && method !== undefined && METHODS.has(method)) {
    return { operation: `${method.toUpperCase()} ${path}`, docs, kind, location: rest.join(" > ") || "(operation)", pointer };
  }
  if (top === "paths" && path !== undefined) return { operation: path, docs, kind, location: [method, ...rest].join(" > ") || "(path)", pointer };
  return { operation: "(document)", docs, kind, location: parts.join(" > "), pointer };
}

/** Whether a breaking result is about this change: the same node, one inside the other, or its `required` list. */
function related(change: string, result: string): boolean {
  if (change === result || change.startsWith(`${result}/`) || result.startsWith(`${change}/`)) return true;
  const parent = change.slice(0, change.lastIndexOf("/"));
  return /\/required(\/\d+)?$/.test(change) && result.startsWith(`${parent.replace(/\/required$/, "")}/properties/`);
}

function semver(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) fail(`not a semver version: ${version}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** A major bump for semver's purposes: below 1.0.0 a minor bump counts as major. */
export function isMajorBump(from: string, to: string): boolean {
  const [fromMajor, fromMinor] = semver(from);
  const [toMajor, toMinor] = semver(to);
  if (toMajor !== fromMajor) return toMajor > fromMajor;
  return fromMajor === 0 && toMinor > fromMinor;
}

const options = parseArgs(process.argv.slice(2));

step("resolve the spec to compare with");
const base = resolveBase(options);
if ("skip" in base) {
  console.log(`spec:diff passes: ${base.skip}.`);
  process.exit(0);
}
const baseSha = git(["rev-parse", "--short", `${base.ref}^{commit}`]).stdout.trim();
if (!git(["cat-file", "-e", `${base.ref}:openapi/openapi.yaml`]).ok) {
  console.log(`spec:diff passes: ${base.ref} has no openapi/openapi.yaml, nothing to compare with.`);
  process.exit(0);
}
const baseVersion = (JSON.parse(git(["show", `${base.ref}:package.json`]).stdout) as { version: string }).version;
const headVersion = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
console.log(`base: ${base.ref} (${baseSha}), version ${baseVersion}; work tree: version ${headVersion}`);

const work = mkdtempSync(join(tmpdir(), "merge-spec-diff-"));
try {
  step(`bundle openapi/ at ${base.ref} and in the work tree with Redocly`);
  const baseDir = join(work, "base");
  mkdirSync(baseDir);
  const archive = spawnSync("git", ["archive", "--format=tar", base.ref, "openapi"], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  if (archive.status !== 0) fail(`git archive ${base.ref} openapi failed: ${archive.stderr.toString()}`);
  const untar = spawnSync("tar", ["-x", "-C", baseDir], { input: archive.stdout });
  if (untar.status !== 0) fail(`tar -x failed: ${untar.stderr.toString()}`);
  const baseFile = join(work, "base.json");
  const headFile = join(work, "head.json");
  run("redocly", ["bundle", join(baseDir, "openapi", "openapi.yaml"), "--ext", "json", "--output", baseFile], { quiet: true });
  run("redocly", ["bundle", "openapi/openapi.yaml", "--ext", "json", "--output", headFile], { quiet: true });

  step("diff with Optic (breaking-changes ruleset)");
  const [from, to] = await Promise.all([load(baseFile), load(headFile)]);
  const { diffs, results } = await compareSpecs(from, to, new RuleRunner([new BreakingChangesRuleset()]), {});
  const breaking = results.filter((r) => !r.passed && !r.exempted);
  const changes = diffs
    .map((d) => describe(d.after ?? d.before ?? "", d.before === undefined ? "added" : d.after === undefined ? "removed" : "changed"))
    // Optic diffs the denormalized operations, where every component in use is inlined; the
    // components section would only repeat them.
    .filter((c) => !c.pointer.startsWith("/components/"))
    .sort((a, b) => a.operation.localeCompare(b.operation) || a.pointer.localeCompare(b.pointer));
  const nonBreaking = changes.filter((c) => !c.docs && !breaking.some((r) => related(c.pointer, r.location.jsonPath)));
  const docs = changes.filter((c) => c.docs).length;
  const docsLine = `${String(docs)} change(s) to descriptions, summaries, examples or code samples`;
  const bumped = isMajorBump(baseVersion, headVersion);

  if (options.markdown) {
    console.log(`\n## [${headVersion}] - ${new Date().toISOString().slice(0, 10)}\n`);
    if (breaking.length > 0) {
      console.log("### Changed (breaking)");
      for (const r of breaking) console.log(`- ${r.where}: ${r.error ?? r.name}`);
      console.log("");
    }
    if (nonBreaking.length > 0) {
      console.log("### Changed");
      for (const c of nonBreaking) console.log(`- \`${c.operation}\`: ${c.kind} ${c.location}`);
      console.log("");
    }
    if (docs > 0) console.log(`### Documentation\n- ${docsLine}.\n`);
    if (changes.length === 0 && breaking.length === 0) console.log("No changes to the spec.\n");
  } else {
    console.log(`\n${String(changes.length)} change(s) between ${base.ref} and the work tree, ${String(breaking.length)} breaking for a client:`);
    for (const r of breaking) console.log(`  BREAKING  ${r.where}: ${r.error ?? r.name} [${r.name}] at ${r.location.jsonPath} (${r.location.spec})`);
    for (const c of nonBreaking) console.log(`  ok        ${c.operation}: ${c.kind} ${c.location}`);
    if (docs > 0) console.log(`  ok        ${docsLine} (not listed)`);
  }

  if (breaking.length > 0 && !bumped) {
    console.error(
      `\nspec:diff fails: ${String(breaking.length)} breaking change(s) since ${base.ref} but version ${headVersion} is not a major bump over ${baseVersion}` +
        `${semver(baseVersion)[0] === 0 ? " (below 1.0.0 a minor bump counts as major)" : ""}:`,
    );
    for (const r of breaking) console.error(`  - ${r.where}: ${r.error ?? r.name}`);
    process.exitCode = 1;
  } else if (breaking.length > 0) {
    console.log(`\nspec:diff passes: the breaking change(s) come with a major version bump (${baseVersion} -> ${headVersion}).`);
  } else {
    console.log(`\nspec:diff passes: no breaking change since ${base.ref}.`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
