/**
 * The CLI's command line and environment, checked before anything runs: every mistake is a
 * `UsageError` (exit code 2) naming the flag or variable at fault.
 */
import { parseArgs } from "node:util";
import type { FailureGuardMode } from "../bulk/index.js";
import { isRegion, type Region } from "../index.js";
import { formatFromPath, type InputFormat } from "./input.js";

export const USAGE = `Usage:
  merge-crm-engagements import FILE [--format csv|ndjson] [--account-token TOKEN] [--key COLUMN]
      [--rate N|launch|professional|enterprise] [--concurrency N] [--per-account-concurrency N]
      [--failure-guard adaptive|strict] [--journal PATH] [--rejects PATH]
      [--dry-run] [--region us|eu|apac|sandbox | --base-url URL] [--json]
  merge-crm-engagements status --journal PATH [--json]

The API key comes from MERGE_API_KEY (without it, and without --base-url, the import runs against the
embedded mock). A row's account token comes from its account_token, else --account-token, else
MERGE_ACCOUNT_TOKEN. Exit codes: 0 every row written or done before, 1 some rows rejected or failed,
2 a usage or configuration error, 130 interrupted.`;

/** A mistake in the command line or the environment: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type RatePlanName = "launch" | "professional" | "enterprise";
function isRatePlan(value: string): value is RatePlanName {
  return value === "launch" || value === "professional" || value === "enterprise";
}

/** `import FILE ...`, checked. */
export interface ImportCommand {
  command: "import";
  file: string;
  format: InputFormat;
  keyField?: string;
  /** From `--account-token`, else `MERGE_ACCOUNT_TOKEN`. */
  accountToken?: string;
  /** Whether the account token came from the flag (the resume command then refers to it by variable). */
  accountTokenFromFlag: boolean;
  rate?: number | RatePlanName;
  concurrency?: number;
  perAccountConcurrency?: number;
  failureGuard?: FailureGuardMode;
  journal: string;
  rejects?: string;
  dryRun: boolean;
  json: boolean;
  /** Where to send: the real API (a key), a given URL (a key), or the embedded mock (no key, no URL). */
  target: { kind: "api"; apiKey: string; region: Region } | { kind: "url"; apiKey: string; baseUrl: string } | { kind: "mock" };
}

/** `status --journal PATH`. */
export interface StatusCommand {
  command: "status";
  journal: string;
  json: boolean;
}

export type Command = ImportCommand | StatusCommand | { command: "help" };

/** Reads the command line (without `node` and the script) and the environment. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: "string" },
        "account-token": { type: "string" },
        key: { type: "string" },
        rate: { type: "string" },
        concurrency: { type: "string" },
        "per-account-concurrency": { type: "string" },
        "failure-guard": { type: "string" },
        journal: { type: "string" },
        rejects: { type: "string" },
        "dry-run": { type: "boolean" },
        region: { type: "string" },
        "base-url": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--rat'", "Option '--rate <value>' argument missing".
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === "help" || command === undefined) {
    if (command === undefined && !values.help) throw new UsageError("a command is required: import or status");
    return { command: "help" };
  }
  const json = values.json === true;

  if (command === "status") {
    if (rest.length > 0) throw new UsageError(`status takes no FILE (got '${rest[0]}'); it reads --journal PATH`);
    if (values.journal === undefined || values.journal === "") throw new UsageError("status needs --journal PATH");
    const importOnly = (["format", "account-token", "key", "rate", "concurrency", "per-account-concurrency", "failure-guard", "rejects", "dry-run", "region", "base-url"] as const).filter((name) => values[name] !== undefined);
    if (importOnly.length > 0) throw new UsageError(`--${importOnly[0]} is an option of import, not status`);
    return { command: "status", journal: values.journal, json };
  }
  if (command !== "import") throw new UsageError(`unknown command '${command}': use import or status`);

  const [file, extra] = rest;
  if (file === undefined || file === "") throw new UsageError("import needs a FILE (NDJSON or CSV)");
  if (extra !== undefined) throw new UsageError(`import takes one FILE (got '${extra}' as well)`);

  let format: InputFormat;
  if (values.format !== undefined) {
    if (values.format !== "csv" && values.format !== "ndjson") throw new UsageError(`--format must be csv or ndjson (got '${values.format}')`);
    format = values.format;
  } else {
    const fromPath = formatFromPath(file);
    if (!fromPath) throw new UsageError(`--format: cannot tell the format of '${file}' from its extension (.csv, .ndjson, .jsonl); pass --format csv or --format ndjson`);
    format = fromPath;
  }

  const out: ImportCommand = {
    command: "import",
    file,
    format,
    journal: values.journal ?? `${file}.journal`,
    dryRun: values["dry-run"] === true,
    json,
    accountTokenFromFlag: false,
    target: { kind: "mock" },
  };
  if (values.journal === "") throw new UsageError("--journal must be a path");
  if (values.key !== undefined) {
    if (values.key.trim() === "") throw new UsageError("--key must name a column");
    out.keyField = values.key.trim();
  }
  if (values["account-token"] !== undefined) {
    if (values["account-token"] === "") throw new UsageError("--account-token is empty");
    out.accountToken = values["account-token"];
    out.accountTokenFromFlag = true;
  } else {
    const token = env["MERGE_ACCOUNT_TOKEN"];
    if (token !== undefined && token !== "") out.accountToken = token;
  }
  if (values.rate !== undefined) {
    if (isRatePlan(values.rate)) out.rate = values.rate;
    else out.rate = positiveInteger(values.rate, "--rate", "writes per minute, or launch, professional or enterprise");
  }
  if (values.concurrency !== undefined) out.concurrency = positiveInteger(values.concurrency, "--concurrency", "requests in flight");
  if (values["per-account-concurrency"] !== undefined) {
    out.perAccountConcurrency = positiveInteger(values["per-account-concurrency"], "--per-account-concurrency", "requests in flight per linked account");
  }
  if (values["failure-guard"] !== undefined) {
    const guard = values["failure-guard"];
    if (guard !== "adaptive" && guard !== "strict") throw new UsageError(`--failure-guard must be adaptive or strict (got '${guard}')`);
    out.failureGuard = guard;
  }
  if (values.rejects !== undefined) {
    if (values.rejects === "") throw new UsageError("--rejects must be a path");
    out.rejects = values.rejects;
  }

  const apiKey = env["MERGE_API_KEY"];
  const hasKey = apiKey !== undefined && apiKey !== "";
  if (values.region !== undefined && values["base-url"] !== undefined) throw new UsageError("--region and --base-url cannot be used together");
  if (values["base-url"] !== undefined) {
    let url: URL;
    try {
      url = new URL(values["base-url"]);
    } catch {
      throw new UsageError(`--base-url is not a URL (got '${values["base-url"]}')`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError("--base-url must be an http or https URL");
    if (!hasKey) throw new UsageError("MERGE_API_KEY is not set: --base-url needs the API key of that server (only the embedded mock runs without one)");
    out.target = { kind: "url", apiKey, baseUrl: values["base-url"] };
  } else if (hasKey) {
    const region = values.region ?? env["MERGE_REGION"] ?? "us";
    if (!isRegion(region)) throw new UsageError(`${values.region !== undefined ? "--region" : "MERGE_REGION"} must be one of us, eu, apac, sandbox (got '${region}')`);
    out.target = { kind: "api", apiKey, region };
  } else if (values.region !== undefined) {
    throw new UsageError("MERGE_API_KEY is not set: --region needs the API key (without it the import runs against the embedded mock)");
  }
  return out;
}

function positiveInteger(text: string, flag: string, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} must be a whole number above 0, ${what} (got '${text}')`);
  return value;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that resumes an import: the same flags, the journal named explicitly, and an account
 * token given by flag replaced by "$MERGE_ACCOUNT_TOKEN" (a token is never printed).
 */
export function resumeCommand(argv: readonly string[], journal: string): string {
  const words: string[] = ["merge-crm-engagements"];
  let hasJournal = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--account-token") {
      words.push(word, '"$MERGE_ACCOUNT_TOKEN"');
      i += 1;
    } else if (word.startsWith("--account-token=")) {
      words.push('--account-token="$MERGE_ACCOUNT_TOKEN"');
    } else {
      if (word === "--journal" || word.startsWith("--journal=")) hasJournal = true;
      words.push(shellQuote(word));
    }
  }
  if (!hasJournal) words.push("--journal", shellQuote(journal));
  return words.join(" ");
}
