/**
 * `npm run spec:drift` on small specs written for it (test/spec/fixtures/drift/): ours.yaml stands for
 * our spec, allowlist.yaml for openapi/drift-allowlist.yaml, and each upstream-*.yaml for a file
 * downloaded from Merge (in OpenAPI 3.0, with the /crm/v1 prefix in `servers`).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixtures = join(root, "test", "spec", "fixtures", "drift");
const TIMEOUT = 30_000;

function specDrift(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(root, "node_modules", ".bin", "tsx"), [join(root, "scripts", "spec-drift.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const againstFixture = (upstream: string, allowlist = "allowlist.yaml") =>
  specDrift(join(fixtures, upstream), "--ours", join(fixtures, "ours.yaml"), "--allowlist", join(fixtures, allowlist));

test("passes on an upstream spec that matches ours except for allowlisted items, naming the stale entry", () => {
  const { status, stdout, stderr } = againstFixture("upstream-matching.yaml");
  expect(stderr).toBe("");
  expect(stdout).toContain("2 upstream operation(s); 7 difference(s), 7 allowlisted");
  expect(stdout).toMatch(/1 allowlist entry matches nothing any more .*\n {2}- DELETE \/crm\/v1\/engagements\/\{id\} {3}\(A stale entry, for the test\.\)/);
  expect(stdout).toContain("spec:drift passes");
  expect(status).toBe(0);
}, TIMEOUT);

test("fails on an upstream spec whose Engagement gains a field, naming it in each operation", () => {
  const { status, stderr } = againstFixture("upstream-gains-field.yaml");
  expect(stderr).toContain("spec:drift fails: 2 difference(s) not in");
  expect(stderr).toContain("POST /crm/v1/engagements response 201 model.engagement_url   ours: absent; upstream: present");
  expect(stderr).toContain("GET /crm/v1/engagements/{id} response 200 engagement_url   ours: absent; upstream: present");
  expect(status).toBe(1);
}, TIMEOUT);

test("fails on an upstream spec whose Engagement loses a field, naming it in each operation", () => {
  const { status, stderr } = againstFixture("upstream-loses-field.yaml");
  expect(stderr).toContain("spec:drift fails: 2 difference(s) not in");
  expect(stderr).toContain("POST /crm/v1/engagements response 201 model.content   ours: present; upstream: absent");
  expect(stderr).toContain("GET /crm/v1/engagements/{id} response 200 content   ours: present; upstream: absent");
  expect(status).toBe(1);
}, TIMEOUT);

test("compares the lookup resources (contacts, users, accounts, engagement types) and account-details too, and no other resource", () => {
  const { status, stdout, stderr } = againstFixture("upstream-other-resources.yaml");
  expect(stdout).toContain("7 upstream operation(s)");
  expect(stderr).toContain("spec:drift fails: 5 difference(s) not in");
  for (const op of ["GET /crm/v1/contacts", "GET /crm/v1/users/{id}", "GET /crm/v1/accounts", "GET /crm/v1/engagement-types", "GET /crm/v1/account-details"]) {
    expect(stderr).toContain(`  ${op}   ours: absent; upstream: present`);
  }
  expect(stderr).not.toContain("opportunities");
  expect(status).toBe(1);
}, TIMEOUT);

test("without the allowlist, every deliberate deviation is reported (and 3.0 `nullable` matches 3.1 `type: [x, null]`)", () => {
  const { status, stderr } = againstFixture("upstream-matching.yaml", "empty-allowlist.yaml");
  const reported = stderr
    .split("\n")
    .filter((line) => line.startsWith("  "))
    .map((line) => line.trim().split("   ")[0]);
  expect(reported.sort()).toEqual(
    [
      "GET /crm/v1/engagements/{id} header authorization",
      "GET /crm/v1/engagements/{id} response 200 direction: open-enum",
      "POST /crm/v1/engagements header authorization",
      "POST /crm/v1/engagements header idempotency-key",
      "POST /crm/v1/engagements request: required",
      "POST /crm/v1/engagements response 201 model.direction: open-enum",
      "POST /crm/v1/engagements response 400",
    ].sort(),
  );
  expect(status).toBe(1);
}, TIMEOUT);

test("our own spec against itself: no difference, and every entry of openapi/drift-allowlist.yaml is reported stale", () => {
  const { status, stdout } = specDrift(join(root, "generated", "openapi.json"));
  expect(stdout).toContain("18 upstream operation(s); 0 difference(s), 0 allowlisted");
  expect(stdout).toMatch(/\d+ allowlist entries match nothing any more/);
  expect(status).toBe(0);
}, TIMEOUT);
