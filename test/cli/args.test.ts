import { parseCommand, resumeCommand, type Command } from "../../src/cli/args.js";
import { usageErrorOf } from "./run-cli.js";

const usageError = usageErrorOf;

test("import: defaults, the format from the extension, the journal beside the file, the mock without a key", () => {
  const command: Command = parseCommand(["import", "rows.csv"], {});
  expect(command).toEqual({
    command: "import",
    file: "rows.csv",
    format: "csv",
    journal: "rows.csv.journal",
    dryRun: false,
    json: false,
    accountTokenFromFlag: false,
    target: { kind: "mock" },
  });
});

test("import: every flag, the key from MERGE_API_KEY, the region from the flag over MERGE_REGION", () => {
  const command = parseCommand(
    ["import", "rows.txt", "--format", "ndjson", "--account-token", "tok", "--key", "crm_id", "--rate", "professional", "--concurrency", "8", "--per-account-concurrency", "12", "--failure-guard", "strict", "--journal", "j", "--rejects", "r.ndjson", "--dry-run", "--region", "eu", "--json"],
    { MERGE_API_KEY: "sk", MERGE_REGION: "apac", MERGE_ACCOUNT_TOKEN: "env-tok" },
  );
  expect(command).toMatchObject({
    format: "ndjson",
    accountToken: "tok",
    accountTokenFromFlag: true,
    keyField: "crm_id",
    rate: "professional",
    concurrency: 8,
    perAccountConcurrency: 12,
    failureGuard: "strict",
    journal: "j",
    rejects: "r.ndjson",
    dryRun: true,
    json: true,
    target: { kind: "api", apiKey: "sk", region: "eu" },
  });
  expect(parseCommand(["import", "a.ndjson", "--rate", "3000"], { MERGE_ACCOUNT_TOKEN: "env-tok" })).toMatchObject({ rate: 3000, accountToken: "env-tok", accountTokenFromFlag: false });
  expect(parseCommand(["import", "a.ndjson", "--base-url", "http://127.0.0.1:9"], { MERGE_API_KEY: "sk" })).toMatchObject({ target: { kind: "url", baseUrl: "http://127.0.0.1:9" } });
});

test("each usage or configuration error names its flag or variable", () => {
  expect(usageError([])).toMatch(/command/);
  expect(usageError(["exprot", "a.csv"])).toMatch(/unknown command 'exprot'/);
  expect(usageError(["import"])).toMatch(/FILE/);
  expect(usageError(["import", "a.csv", "--rat", "1"])).toMatch(/--rat/);
  expect(usageError(["import", "a.txt"])).toMatch(/^--format/);
  expect(usageError(["import", "a.csv", "--format", "xml"])).toMatch(/^--format/);
  expect(usageError(["import", "a.csv", "--rate", "fast"])).toMatch(/^--rate/);
  expect(usageError(["import", "a.csv", "--rate", "0"])).toMatch(/^--rate/);
  expect(usageError(["import", "a.csv", "--concurrency", "2.5"])).toMatch(/^--concurrency/);
  expect(usageError(["import", "a.csv", "--per-account-concurrency", "0"])).toMatch(/^--per-account-concurrency/);
  expect(usageError(["import", "a.csv", "--failure-guard", "loose"])).toMatch(/^--failure-guard must be adaptive or strict/);
  expect(usageError(["status", "--journal", "j", "--failure-guard", "strict"])).toMatch(/--failure-guard is an option of import/);
  expect(usageError(["import", "a.csv", "--region", "eu", "--base-url", "http://x"], { MERGE_API_KEY: "k" })).toMatch(/--region and --base-url/);
  expect(usageError(["import", "a.csv", "--base-url", "http://x"])).toMatch(/^MERGE_API_KEY/);
  expect(usageError(["import", "a.csv", "--base-url", "ftp://x"], { MERGE_API_KEY: "k" })).toMatch(/^--base-url/);
  expect(usageError(["import", "a.csv", "--region", "mars"], { MERGE_API_KEY: "k" })).toMatch(/^--region/);
  expect(usageError(["import", "a.csv"], { MERGE_API_KEY: "k", MERGE_REGION: "mars" })).toMatch(/^MERGE_REGION/);
  expect(usageError(["import", "a.csv", "--region", "eu"])).toMatch(/^MERGE_API_KEY/);
  expect(usageError(["status"])).toMatch(/--journal/);
  expect(usageError(["status", "--journal", "j", "--dry-run"])).toMatch(/--dry-run/);
});

test("the resume command repeats the flags, names the journal, and never prints a token", () => {
  const argv = ["import", "my rows.csv", "--account-token", "secret-token", "--rate", "launch"];
  const command = resumeCommand(argv, "my rows.csv.journal");
  expect(command).toBe(`merge-crm-engagements import 'my rows.csv' --account-token "$MERGE_ACCOUNT_TOKEN" --rate launch --journal 'my rows.csv.journal'`);
  expect(resumeCommand(["import", "a.csv", "--account-token=secret-token", "--journal", "j"], "j")).toBe(
    `merge-crm-engagements import a.csv --account-token="$MERGE_ACCOUNT_TOKEN" --journal j`,
  );
});
