/**
 * `npm run spec:diff` as a maintainer meets it: a throwaway git repository holds the real script, a
 * released spec (test/spec/fixtures/diff/base.yaml) tagged with its version, and a work tree where one
 * fixture replaces the spec and package.json's version may be bumped.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = join(root, "test", "spec", "fixtures", "diff");
const repos: string[] = [];

const TIMEOUT = 60_000;
afterAll(() => {
  for (const repo of repos) rmSync(repo, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): void {
  const result = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
}

function writeVersion(repo: string, version: string): void {
  writeFileSync(join(repo, "package.json"), `${JSON.stringify({ name: "fixture", version, type: "module" }, null, 2)}\n`);
}

/** A repository whose last commit (tagged `v<version>` unless `tag` is false) holds base.yaml. */
function releasedRepo(version: string, tag = true): string {
  const repo = mkdtempSync(join(tmpdir(), "spec-diff-test-"));
  repos.push(repo);
  mkdirSync(join(repo, "scripts"));
  mkdirSync(join(repo, "openapi"));
  for (const file of ["spec-diff.ts", "lib.ts"]) copyFileSync(join(root, "scripts", file), join(repo, "scripts", file));
  symlinkSync(join(root, "node_modules"), join(repo, "node_modules"), "dir");
  writeFileSync(join(repo, ".gitignore"), "node_modules\n");
  copyFileSync(join(fixtures, "base.yaml"), join(repo, "openapi", "openapi.yaml"));
  writeVersion(repo, version);
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=test", "-c", "user.email=test@example.test", "commit", "-q", "-m", "release");
  if (tag) git(repo, "tag", `v${version}`);
  return repo;
}

function change(repo: string, fixture: string, version?: string): void {
  copyFileSync(join(fixtures, fixture), join(repo, "openapi", "openapi.yaml"));
  if (version !== undefined) writeVersion(repo, version);
}

function specDiff(repo: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(repo, "node_modules", ".bin", "tsx"), [join(repo, "scripts", "spec-diff.ts"), ...args], {
    cwd: repo,
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("a removed response field fails without a major bump, naming the field and the operation", () => {
  const repo = releasedRepo("0.1.0");
  change(repo, "removed-response-field.yaml", "0.1.1");
  const { status, stdout, stderr } = specDiff(repo);
  expect(stdout).toContain("base: v0.1.0");
  expect(stdout).toMatch(/1 breaking for a client/);
  expect(stderr).toContain("not a major bump over 0.1.0 (below 1.0.0 a minor bump counts as major)");
  expect(stderr).toMatch(/- POST \/crm\/v1\/engagements response 201 .*property subject: cannot remove response property 'subject'/);
  expect(status).toBe(1);
}, TIMEOUT);

test("an added optional response field passes and is listed as not breaking", () => {
  const repo = releasedRepo("0.1.0");
  change(repo, "added-optional-response-field.yaml");
  const { status, stdout, stderr } = specDiff(repo);
  expect(stderr).toBe("");
  expect(stdout).toMatch(/0 breaking for a client/);
  expect(stdout).toContain(
    "ok        POST /crm/v1/engagements: added responses > 201 > content > application/json > schema > properties > content",
  );
  expect(status).toBe(0);
}, TIMEOUT);

test("a breaking change passes with a major bump (a minor bump below 1.0.0) and fails with a minor bump from 1.x", () => {
  const zero = releasedRepo("0.1.0");
  change(zero, "removed-response-field.yaml", "0.2.0");
  const passed = specDiff(zero);
  expect(passed.stdout).toContain("the breaking change(s) come with a major version bump (0.1.0 -> 0.2.0)");
  expect(passed.status).toBe(0);

  const one = releasedRepo("1.4.2");
  change(one, "removed-response-field.yaml", "1.5.0");
  expect(specDiff(one).status).toBe(1);
  change(one, "removed-response-field.yaml", "2.0.0");
  expect(specDiff(one).status).toBe(0);
}, TIMEOUT);

test("a request field made required fails, naming it; --markdown prints a CHANGELOG section", () => {
  const repo = releasedRepo("0.3.0");
  change(repo, "request-field-required.yaml");
  const { status, stdout, stderr } = specDiff(repo, "--markdown");
  expect(stdout).toContain("## [0.3.0] - ");
  expect(stdout).toMatch(/### Changed \(breaking\)\n- POST \/crm\/v1\/engagements request body: .*subject: cannot make a request property required/);
  expect(stderr).toMatch(/- POST \/crm\/v1\/engagements request body: .*subject: cannot make a request property required/);
  expect(status).toBe(1);
}, TIMEOUT);

test("without a v* tag, --release passes saying so, and the default compares with the previous commit", () => {
  const repo = releasedRepo("0.1.0", false);
  change(repo, "removed-response-field.yaml");
  const release = specDiff(repo, "--release");
  expect(release.stdout).toContain("spec:diff passes: no v* release tag in this repository");
  expect(release.status).toBe(0);

  // One commit only: no HEAD~1 either.
  expect(specDiff(repo).stdout).toContain("no v* tag and no previous commit");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=test", "-c", "user.email=test@example.test", "commit", "-q", "-m", "drop subject");
  change(repo, "base.yaml");
  // The work tree puts `subject` back; against HEAD~1 (base.yaml) nothing changed, against HEAD it was added.
  expect(specDiff(repo).stdout).toContain("0 change(s) between HEAD~1 and the work tree");
  const againstHead = specDiff(repo, "--base", "HEAD");
  expect(againstHead.stdout).toMatch(/ok {8}POST \/crm\/v1\/engagements: added responses > 201 > .*properties > subject/);
  expect(againstHead.status).toBe(0);
}, TIMEOUT);
