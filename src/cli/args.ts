/**
 * The CLI's command line and environment, checked before anything runs: every mistake is a
 * `UsageError` (exit code 2) naming the flag or variable at fault.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { withoutPassword } from "../internal/url.js";
import type { FailureGuardMode } from "../bulk/index.js";
import { isMissingContacts, isRegion, type MissingContacts, type Region } from "../index.js";
import { formatFromPath, type InputFormat } from "./input.js";
import { messageOf } from "../internal/errors.js";

export const USAGE = `Usage:
  merge-crm-engagements import FILE [--format csv|ndjson] [--account-token TOKEN] [--key COLUMN]
      [--rate N|launch|professional|enterprise] [--concurrency N] [--per-account-concurrency N]
      [--failure-guard adaptive|strict] [--journal PATH] [--rejects PATH]
      [--missing-contacts reject|omit|create]
      [--dry-run] [--region us|eu|apac|sandbox | --base-url URL] [--json]
  merge-crm-engagements status --journal PATH [--json]
  merge-crm-engagements export --account-token TOKEN --out FILE [--state FILE] [--since ISO]
      [--region us|eu|apac|sandbox | --base-url URL] [--json]
  merge-crm-engagements mirror --account-token TOKEN [--account-token TOKEN ...] [--db URL|DIR]
      [--every DURATION] [--listen PORT] [--region us|eu|apac|sandbox | --base-url URL] [--json]

Through a queue (BullMQ on Redis), delivered by workers on any number of machines:
  merge-crm-engagements enqueue FILE --redis URL [--queue NAME] [--format csv|ndjson]
      [--account-token TOKEN] [--key COLUMN] [--missing-contacts reject|omit|create] [--json]
  merge-crm-engagements worker --redis URL [--queue NAME] [--rate N|launch|professional|enterprise]
      [--concurrency N] [--failure-guard adaptive|strict] [--region us|eu|apac|sandbox | --base-url URL]
  merge-crm-engagements status --redis URL [--queue NAME] [--json]

The API key comes from MERGE_API_KEY (without it, and without --base-url, import and worker send to the
embedded mock). A row's account token comes from its account_token, else --account-token, else
MERGE_ACCOUNT_TOKEN. Exit codes: 0 every row written or done before, 1 some rows rejected, held or
failed, 2 a usage or configuration error, 130 interrupted. A linked account that answers 401 or 403 (or
fails row after row while others succeed) is suspended: its rows are held, not sent, and listed by
status; run the same import again once the account is fixed to send them. status --redis lists the
accounts suspended over the fleet, with their reason and jobs held.

A row may name its contacts, owner, account and engagement type by what the app knows instead of
Merge's ids: in NDJSON inside "model" ("contacts":[{"email":"ada@example.com"}], "owner":{"email":...},
"account":{"name":"Acme Inc"}, "engagement_type":{"activity_type":"CALL"}, or {"remote_id":...}); in CSV
with the columns contacts.email and contacts.remote_id (several separated by ;), owner.email,
owner.remote_id, account.name, account.remote_id, engagement_type.activity_type, engagement_type.name and
engagement_type.remote_id. They are looked up before the write (by the worker, for a queue), paced and
cached per linked account; a row whose reference matches nothing, or several, is rejected with its
pointer and never sent. --missing-contacts says what an email no contact has becomes: reject (the
default), omit (left out of the row's contacts) or create (one contact per linked account and email).

export appends the linked account's engagement changes to --out, one NDJSON line each
({"op":"upsert","id":...,"modified_at":...,"engagement":{...}} or {"op":"delete","id":...,"modified_at":...}),
and keeps its checkpoint in --state (default FILE.state.json). The first run reads everything (or what
changed since --since, an ISO 8601 date or time); each later run reads what changed after the checkpoint
(--since is then ignored). Run the same command again after Ctrl-C or a crash to continue. Without
MERGE_API_KEY, and without --base-url, it reads from the embedded mock. Exit codes: 0 caught up, 1 a
failure (an API error after the client's retries, a file error), 2 a usage or configuration error,
130 interrupted.

mirror keeps a copy of the linked accounts' engagements in a database: --db, a PGlite directory (default
./merge-mirror; one process at a time) or a postgres:// URL, in the table merge_engagements, keyed by
Merge's linked account id (tokens are never stored). Without --every it syncs each account once (what
changed since its last sync) and exits: 0 up to date as of the start, 1 a failure (an API error after
the client's retries), 2 a usage or configuration error (a PGlite directory open in another process
too), 130 interrupted. With --every DURATION (30s, 5m, 1h) it syncs each account again every DURATION
until SIGTERM or Ctrl-C (exit 0; a failed sync is reported and tried again at the next one). With
--listen PORT it also receives Merge's webhooks (a POST to any path), verified with MERGE_WEBHOOK_KEY,
answering 2xx once the event is committed; it then runs until a signal. Without MERGE_API_KEY, and
without --base-url, it reads from the embedded mock.

The queue's name is --queue's (default merge-crm-engagements). Account tokens are kept in Redis
encrypted with MERGE_QUEUE_SECRET (16 characters or more): enqueue needs it for rows with a token, and
workers the same secret.
Enqueueing a file again adds nothing that is queued or was delivered. enqueue exits 0 when every row is
queued or was delivered before, 1 when some rows were rejected (listed on stderr; the others are
queued), 2 a usage or configuration error, 130 interrupted. worker runs until SIGTERM or Ctrl-C, then
finishes the jobs in flight and exits 0 (a second signal quits at once: 130). A Redis that cannot be
reached is exit 1 for each command (not 2: the command is right; run it again once Redis answers).`;

/** A mistake in the command line or the environment: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type RatePlanName = "launch" | "professional" | "enterprise";
function isRatePlan(value: string): value is RatePlanName {
  return value === "launch" || value === "professional" || value === "enterprise";
}

/** Where to send: the real API (a key), a given URL (a key), or the embedded mock (no key, no URL). */
export type Target = { kind: "api"; apiKey: string; region: Region } | { kind: "url"; apiKey: string; baseUrl: string } | { kind: "mock" };

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
  /** `--missing-contacts`: what a contact named by an unknown email becomes. */
  missingContacts?: MissingContacts;
  dryRun: boolean;
  json: boolean;
  target: Target;
}

/** `status --journal PATH`. */
export interface StatusCommand {
  command: "status";
  journal: string;
  json: boolean;
}

/** A queue in Redis: `--redis URL [--queue NAME]`. */
export interface QueueLocation {
  /** The Redis URL as given (it may hold a password: print `redisForDisplay(redis)` instead). */
  redis: string;
  /** `--queue`; without it, the library's default name. */
  queue?: string;
}

/** `enqueue FILE --redis URL ...`, checked. */
export interface EnqueueCommand extends QueueLocation {
  command: "enqueue";
  file: string;
  format: InputFormat;
  keyField?: string;
  /** From `--account-token`, else `MERGE_ACCOUNT_TOKEN`. */
  accountToken?: string;
  /** `MERGE_QUEUE_SECRET`: encrypts the tokens rows carry. */
  secret?: string;
  /** `--missing-contacts`, carried in each job for the worker. */
  missingContacts?: MissingContacts;
  json: boolean;
}

/** `worker --redis URL ...`, checked. */
export interface WorkerCommand extends QueueLocation {
  command: "worker";
  rate?: number | RatePlanName;
  concurrency?: number;
  failureGuard?: FailureGuardMode;
  /** `MERGE_QUEUE_SECRET`: decrypts the tokens jobs carry. */
  secret?: string;
  target: Target;
}

/** `export --account-token TOKEN --out FILE ...`, checked. */
export interface ExportCommand {
  command: "export";
  /** From `--account-token` (required): never printed, never written to --out or --state. */
  accountToken: string;
  /** `--out`: the NDJSON file the changes are appended to. */
  out: string;
  /** `--state`, else `<out>.state.json`. */
  state: string;
  /** `--since`, as given (an ISO 8601 date or date-time) and as a date. */
  since?: { text: string; date: Date };
  json: boolean;
  target: Target;
}

/** `status --redis URL [--queue NAME]`. */
export interface QueueStatusCommand extends QueueLocation {
  command: "queue-status";
  json: boolean;
}

/** `mirror --account-token TOKEN [--account-token ...] ...`, checked. */
export interface MirrorCommand {
  command: "mirror";
  /** From `--account-token`, each once, in order: kept in memory only, never printed nor stored. */
  accountTokens: string[];
  /** `--db`: a PGlite directory or a `postgres://` URL (it may hold a password: print `databaseForDisplay`). */
  database: string;
  /** `--every`: a sync of each account every this many milliseconds, until a signal. */
  every?: { text: string; ms: number };
  /** `--listen`: the port Merge's webhooks are received on (0: any free port). */
  listen?: number;
  /** `MERGE_WEBHOOK_KEY`, required with --listen. */
  webhookKey?: string;
  json: boolean;
  target: Target;
}

export type Command = MirrorCommand | ImportCommand | StatusCommand | EnqueueCommand | WorkerCommand | QueueStatusCommand | ExportCommand | { command: "help" };

/** The flags each command takes (`status` takes --journal, or --redis and --queue). */
const FLAGS = {
  import: ["format", "account-token", "key", "rate", "concurrency", "per-account-concurrency", "failure-guard", "journal", "rejects", "missing-contacts", "dry-run", "region", "base-url", "json"],
  enqueue: ["redis", "queue", "format", "account-token", "key", "missing-contacts", "json"],
  worker: ["redis", "queue", "rate", "concurrency", "failure-guard", "region", "base-url"],
  status: ["journal", "redis", "queue", "json"],
  export: ["account-token", "out", "state", "since", "region", "base-url", "json"],
  mirror: ["account-token", "db", "every", "listen", "region", "base-url", "json"],
} as const;
type CommandName = keyof typeof FLAGS;
type FlagName = (typeof FLAGS)[CommandName][number];
const COMMANDS = Object.keys(FLAGS) as CommandName[];

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
        // Repeatable for mirror (several linked accounts); import, enqueue and export take the last given.
        "account-token": { type: "string", multiple: true },
        key: { type: "string" },
        rate: { type: "string" },
        concurrency: { type: "string" },
        "per-account-concurrency": { type: "string" },
        "failure-guard": { type: "string" },
        journal: { type: "string" },
        rejects: { type: "string" },
        "missing-contacts": { type: "string" },
        "dry-run": { type: "boolean" },
        region: { type: "string" },
        "base-url": { type: "string" },
        redis: { type: "string" },
        queue: { type: "string" },
        out: { type: "string" },
        state: { type: "string" },
        since: { type: "string" },
        db: { type: "string" },
        every: { type: "string" },
        listen: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--rat'", "Option '--rate <value>' argument missing".
    throw new UsageError(messageOf(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === "help" || command === undefined) {
    if (command === undefined && !values.help) throw new UsageError("a command is required: import, status, export, mirror, enqueue or worker");
    return { command: "help" };
  }
  if (!isCommandName(command)) throw new UsageError(`unknown command '${command}': use import, export, mirror, status, enqueue or worker`);
  const given = (Object.keys(values) as (keyof typeof values)[]).filter((name): name is FlagName => name !== "help" && values[name] !== undefined);
  for (const flag of given) {
    if (!(FLAGS[command] as readonly string[]).includes(flag)) {
      const owners = COMMANDS.filter((name) => (FLAGS[name] as readonly string[]).includes(flag));
      throw new UsageError(`--${flag} is an option of ${listed(owners)}, not ${command}`);
    }
  }
  const json = values.json === true;

  if (command === "status") {
    if (rest.length > 0) throw new UsageError(`status takes no FILE (got '${rest[0]}'); it reads --journal PATH or --redis URL`);
    if (values.journal !== undefined && values.redis !== undefined) throw new UsageError("status reads --journal PATH (an import) or --redis URL (a queue), not both");
    if (values.redis !== undefined) return { command: "queue-status", ...queueLocation(values), json };
    if (values.queue !== undefined) throw new UsageError("--queue goes with --redis URL (status --journal reads a file)");
    if (values.journal === undefined || values.journal === "") throw new UsageError("status needs --journal PATH (an import's journal) or --redis URL (a queue)");
    return { command: "status", journal: values.journal, json };
  }

  if (command === "export") return exportCommand(rest, { ...values, "account-token": lastOf(values["account-token"]) }, env, json);
  if (command === "mirror") return mirrorCommand(rest, values, env, json);

  if (command === "worker") {
    if (rest.length > 0) throw new UsageError(`worker takes no FILE (got '${rest[0]}'); it takes jobs from --redis URL`);
    const out: WorkerCommand = { command: "worker", ...queueLocation(values), target: { kind: "mock" } };
    const secret = queueSecret(env);
    if (secret !== undefined) out.secret = secret;
    if (values.rate !== undefined) out.rate = rate(values.rate);
    if (values.concurrency !== undefined) out.concurrency = positiveInteger(values.concurrency, "--concurrency", "jobs in progress in this worker");
    if (values["failure-guard"] !== undefined) out.failureGuard = failureGuard(values["failure-guard"]);
    out.target = target(values, env, "the worker delivers into the embedded mock");
    return out;
  }

  const [file, extra] = rest;
  if (file === undefined || file === "") throw new UsageError(`${command} needs a FILE (NDJSON or CSV)`);
  if (extra !== undefined) throw new UsageError(`${command} takes one FILE (got '${extra}' as well)`);

  let format: InputFormat;
  if (values.format !== undefined) {
    if (values.format !== "csv" && values.format !== "ndjson") throw new UsageError(`--format must be csv or ndjson (got '${values.format}')`);
    format = values.format;
  } else {
    const fromPath = formatFromPath(file);
    if (!fromPath) throw new UsageError(`--format: cannot tell the format of '${file}' from its extension (.csv, .ndjson, .jsonl); pass --format csv or --format ndjson`);
    format = fromPath;
  }
  let keyField: string | undefined;
  if (values.key !== undefined) {
    if (values.key.trim() === "") throw new UsageError("--key must name a column");
    keyField = values.key.trim();
  }
  let accountToken: string | undefined;
  const flagToken = lastOf(values["account-token"]);
  if (flagToken !== undefined) {
    if (flagToken === "") throw new UsageError("--account-token is empty");
    accountToken = flagToken;
  } else {
    const token = env["MERGE_ACCOUNT_TOKEN"];
    if (token !== undefined && token !== "") accountToken = token;
  }
  const missing = values["missing-contacts"];
  if (missing !== undefined && !isMissingContacts(missing)) {
    throw new UsageError(`--missing-contacts must be reject, omit or create (got '${missing}')`);
  }

  if (command === "enqueue") {
    const out: EnqueueCommand = { command: "enqueue", file, format, ...queueLocation(values), json };
    if (keyField !== undefined) out.keyField = keyField;
    if (missing !== undefined) out.missingContacts = missing;
    const secret = queueSecret(env);
    if (secret !== undefined) out.secret = secret;
    if (accountToken !== undefined) {
      // Every row then carries a token, which Redis only ever holds encrypted.
      if (out.secret === undefined) {
        throw new UsageError(`MERGE_QUEUE_SECRET is not set: the account token of ${flagToken !== undefined ? "--account-token" : "MERGE_ACCOUNT_TOKEN"} is stored in Redis encrypted with it (set the same secret for the workers)`);
      }
      out.accountToken = accountToken;
    }
    return out;
  }

  const out: ImportCommand = {
    command: "import",
    file,
    format,
    journal: values.journal ?? `${file}.journal`,
    dryRun: values["dry-run"] === true,
    json,
    accountTokenFromFlag: flagToken !== undefined,
    target: { kind: "mock" },
  };
  if (values.journal === "") throw new UsageError("--journal must be a path");
  if (keyField !== undefined) out.keyField = keyField;
  if (missing !== undefined) out.missingContacts = missing;
  if (accountToken !== undefined) out.accountToken = accountToken;
  if (values.rate !== undefined) out.rate = rate(values.rate);
  if (values.concurrency !== undefined) out.concurrency = positiveInteger(values.concurrency, "--concurrency", "requests in flight");
  if (values["per-account-concurrency"] !== undefined) {
    out.perAccountConcurrency = positiveInteger(values["per-account-concurrency"], "--per-account-concurrency", "requests in flight per linked account");
  }
  if (values["failure-guard"] !== undefined) out.failureGuard = failureGuard(values["failure-guard"]);
  if (values.rejects !== undefined) {
    if (values.rejects === "") throw new UsageError("--rejects must be a path");
    out.rejects = values.rejects;
  }
  out.target = target(values, env, "the import runs against the embedded mock");
  return out;
}

/** `export --account-token TOKEN --out FILE [--state FILE] [--since ISO] [--region R | --base-url URL]`. */
function exportCommand(
  rest: readonly string[],
  values: { "account-token"?: string | undefined; out?: string | undefined; state?: string | undefined; since?: string | undefined; region?: string | undefined; "base-url"?: string | undefined },
  env: NodeJS.ProcessEnv,
  json: boolean,
): ExportCommand {
  if (rest.length > 0) throw new UsageError(`export takes no FILE (got '${rest[0]}'); it writes to --out FILE`);
  const token = values["account-token"];
  if (token === undefined) throw new UsageError("export needs --account-token TOKEN (the linked account whose engagements it reads)");
  if (token === "") throw new UsageError("--account-token is empty");
  if (values.out === undefined || values.out === "") throw new UsageError("export needs --out FILE (the NDJSON file the changes are appended to)");
  if (values.state === "") throw new UsageError("--state must be a path");
  const state = values.state ?? `${values.out}.state.json`;
  if (resolve(state) === resolve(values.out)) throw new UsageError("--state must be another file than --out");
  const out: ExportCommand = { command: "export", accountToken: token, out: values.out, state, json, target: { kind: "mock" } };
  if (values.since !== undefined) out.since = { text: values.since, date: isoDate(values.since) };
  out.target = target(values, env, "export reads from the embedded mock");
  return out;
}

/** The mirror's database when `--db` is not given: a PGlite directory in the working directory. */
export const DEFAULT_MIRROR_DATABASE = "./merge-mirror";

/** `mirror --account-token TOKEN [--account-token ...] [--db URL|DIR] [--every DURATION] [--listen PORT] [--region R | --base-url URL]`. */
function mirrorCommand(
  rest: readonly string[],
  values: { "account-token"?: string[] | undefined; db?: string | undefined; every?: string | undefined; listen?: string | undefined; region?: string | undefined; "base-url"?: string | undefined },
  env: NodeJS.ProcessEnv,
  json: boolean,
): MirrorCommand {
  if (rest.length > 0) throw new UsageError(`mirror takes no FILE (got '${rest[0]}'); it writes to --db URL|DIR`);
  const tokens = values["account-token"] ?? [];
  if (tokens.length === 0) throw new UsageError("mirror needs --account-token TOKEN (a linked account to mirror; repeat the flag for several)");
  if (tokens.some((token) => token === "")) throw new UsageError("--account-token is empty");
  if (values.db === "") throw new UsageError("--db must be a directory (PGlite) or a postgres:// URL");
  const out: MirrorCommand = { command: "mirror", accountTokens: [...new Set(tokens)], database: values.db ?? DEFAULT_MIRROR_DATABASE, json, target: { kind: "mock" } };
  if (values.every !== undefined) out.every = { text: values.every, ms: durationMs(values.every, "--every") };
  if (values.listen !== undefined) {
    const port = Number(values.listen);
    if (!/^\d+$/.test(values.listen.trim()) || port > 65535) throw new UsageError(`--listen must be a port number, 0 to 65535 (got '${values.listen}')`);
    const key = env["MERGE_WEBHOOK_KEY"];
    if (key === undefined || key === "") throw new UsageError("MERGE_WEBHOOK_KEY is not set: --listen verifies each webhook with your webhook signature key (Merge dashboard → Security)");
    out.listen = port;
    out.webhookKey = key;
  }
  out.target = target(values, env, "mirror reads from the embedded mock");
  return out;
}

/** `30s`, `5m`, `1h`: a whole number of seconds, minutes or hours, in milliseconds. */
function durationMs(text: string, flag: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text.trim());
  const amount = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(amount) || amount < 1) throw new UsageError(`${flag} must be a duration such as 30s, 5m or 1h (got '${text}')`);
  const ms = amount * (match[2] === "h" ? 3_600_000 : match[2] === "m" ? 60_000 : 1000);
  // setTimeout's longest wait (2^31 - 1 ms, about 24 days).
  if (ms > 2_147_483_647) throw new UsageError(`${flag} is too long (at most 596h, got '${text}')`);
  return ms;
}

/** A `postgres://` URL without its password, or a directory as given: for messages. */
export function databaseForDisplay(database: string): string {
  return /^postgres(ql)?:\/\//i.test(database) ? withoutPassword(database) : database;
}

/** The last of a repeatable flag's values: what import, enqueue and export take (as parseArgs did before the flag was repeatable). */
function lastOf(values: readonly string[] | undefined): string | undefined {
  return values?.at(-1);
}

/**
 * `--since`: an ISO 8601 date (midnight UTC) or date-time with `Z` or an offset. A time without a zone
 * is refused rather than read in this machine's zone.
 */
function isoDate(text: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`--since must be an ISO 8601 date or date-time, such as 2024-01-31 or 2024-01-31T12:00:00Z (got '${text}')`);
  if (match[4] !== undefined && match[7] === undefined) throw new UsageError(`--since: give the time's zone, such as ${text.trim()}Z for UTC (got '${text}')`);
  const date = new Date(match[4] === undefined ? `${text.trim()}T00:00:00Z` : text.trim().replace(" ", "T"));
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Date.parse rolls 2024-02-30 over to March: a day the month does not have is refused.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (Number.isNaN(date.getTime()) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
    throw new UsageError(`--since is not a valid date (got '${text}')`);
  }
  return date;
}

/** "import", "import and worker", "enqueue, worker and status". */
function listed(words: readonly string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(", ")} and ${words.at(-1)}` : words.join("");
}

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(FLAGS, name);
}

function rate(text: string): number | RatePlanName {
  return isRatePlan(text) ? text : positiveInteger(text, "--rate", "writes per minute, or launch, professional or enterprise");
}

function failureGuard(text: string): FailureGuardMode {
  if (text !== "adaptive" && text !== "strict") throw new UsageError(`--failure-guard must be adaptive or strict (got '${text}')`);
  return text;
}

/** `--region`, `--base-url` and MERGE_API_KEY: where import and worker send, and export reads. */
function target(values: { region?: string | undefined; "base-url"?: string | undefined }, env: NodeJS.ProcessEnv, withoutKey: string): Target {
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
    return { kind: "url", apiKey, baseUrl: values["base-url"] };
  }
  if (hasKey) {
    const region = values.region ?? env["MERGE_REGION"] ?? "us";
    if (!isRegion(region)) throw new UsageError(`${values.region !== undefined ? "--region" : "MERGE_REGION"} must be one of us, eu, apac, sandbox (got '${region}')`);
    return { kind: "api", apiKey, region };
  }
  if (values.region !== undefined) throw new UsageError(`MERGE_API_KEY is not set: --region needs the API key (without it ${withoutKey})`);
  return { kind: "mock" };
}

/** `--redis URL` (required) and `--queue NAME`. */
function queueLocation(values: { redis?: string | undefined; queue?: string | undefined }): QueueLocation {
  if (values.redis === undefined || values.redis === "") throw new UsageError("--redis URL is required (redis://[:password@]host[:port][/db], or rediss:// for TLS)");
  let url: URL;
  try {
    url = new URL(values.redis);
  } catch {
    throw new UsageError(`--redis is not a URL (got '${redisForDisplay(values.redis)}'): use redis://host:port`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new UsageError(`--redis must be a redis:// or rediss:// URL (got '${redisForDisplay(values.redis)}')`);
  const out: QueueLocation = { redis: values.redis };
  if (values.queue !== undefined) {
    // The library's rule for names (BullMQ keeps a queue's keys under bull:NAME:..., so no ':').
    if (!/^[\w.-]{1,100}$/.test(values.queue)) throw new UsageError(`--queue must be 1 to 100 letters, digits, '.', '_' or '-' (got '${values.queue}')`);
    out.queue = values.queue;
  }
  return out;
}

/** MERGE_QUEUE_SECRET, checked now rather than at the first job that carries a token. */
function queueSecret(env: NodeJS.ProcessEnv): string | undefined {
  const secret = env["MERGE_QUEUE_SECRET"];
  if (secret === undefined || secret === "") return undefined;
  // The queue's rule (cipher.ts): the key is derived from it with HKDF, which needs some entropy to start with.
  if (secret.length < 16) throw new UsageError("MERGE_QUEUE_SECRET must be at least 16 characters");
  return secret;
}

/** A Redis URL without its password, for messages: `redis://:***@host:6379`. */
export function redisForDisplay(redis: string): string {
  return withoutPassword(redis).replace(/\/$/, "");
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
 * The command that resumes a run: the same words, an account token given by flag replaced by
 * "$MERGE_ACCOUNT_TOKEN" (a token is never printed; the shell puts it back), and for an import its
 * journal named explicitly.
 */
export function resumeCommand(argv: readonly string[], journal?: string): string {
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
  if (journal !== undefined && !hasJournal) words.push("--journal", shellQuote(journal));
  return words.join(" ");
}
