/**
 * `mirror --account-token TOKEN ...`: keeps a copy of linked accounts' engagements in a database with
 * `openEngagementMirror` (merge-crm-engagements/mirror): one sync of each account, or one every
 * `--every`, and with `--listen` Merge's webhooks written into the same table. The mirror does the
 * work (each page committed with its checkpoint, newer wins); this file schedules it and reports.
 *
 * Tokens stay in this process's memory: the database, the progress and the summary name a linked
 * account by Merge's id (or by its place on the command line before that id is known).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { hasCode, isAbortError, messageOf, nameAndMessage } from "../../internal/errors.js";
import { MergeMirrorConfigError, openEngagementMirror, type EngagementMirror, type MirrorSyncSummary } from "../../mirror/index.js";
import { createMergeWebhookNodeHandler } from "../../webhooks/index.js";
import { databaseForDisplay, UsageError, type MirrorCommand } from "../args.js";
import { FAILED, INTERRUPTED, OK } from "../exit.js";
import { counted, duration, grouped } from "../progress.js";
import { runCommand, signalName, withoutAccountTokens, type CommandContext, type CommandResult } from "../runner.js";

/**
 * One account's totals over the run's syncs: the counts of `MirrorSyncSummary`, summed (`caughtUp`:
 * the last sync's), with the syncs run and failed.
 */
export interface MirrorAccountSummary extends Pick<MirrorSyncSummary, "pages" | "records" | "upserts" | "deletions" | "changed" | "caughtUp"> {
  /** Merge's id of the linked account, once a sync learned it (`null` if none did). */
  linkedAccountId: string | null;
  /** Syncs run, and of those the ones that failed. */
  syncs: number;
  failures: number;
}

/** Webhook deliveries received with --listen, by what became of them. */
export interface MirrorWebhookSummary {
  applied: number;
  unchanged: number;
  ignored: number;
  /** Answered outside 2xx: not verified, not a delivery, or not committed (Merge retries those). */
  refused: number;
}

/** The `--json` summary: one line on stdout at the end. */
export interface MirrorSummary {
  /** `--db` (a URL without its password). */
  database: string;
  kind: "pglite" | "postgres";
  /** In the order of --account-token. */
  accounts: MirrorAccountSummary[];
  /** Whether every account's last sync caught up. */
  caughtUp: boolean;
  /** With --listen. */
  webhooks?: MirrorWebhookSummary;
  durationMs: number;
}

/** Runs `mirror`; resolves to its exit code. */
export function runMirror(command: MirrorCommand): Promise<number> {
  const hideTokens = (message: string) => withoutAccountTokens(message, command.accountTokens);
  return runCommand({
    json: command.json,
    signals: {
      stopping: (signal) => `Stopping (${signalName(signal)}): finishing the transaction in flight (${signalName(signal)} again to quit at once).`,
      // Each page is committed with its checkpoint, each webhook on its own: a transaction cut off is rolled back.
      stoppedAtOnce: "the database holds every committed page and webhook; the next sync continues from its checkpoint.",
    },
    async run(run): Promise<CommandResult> {
      const started = performance.now();
      const display = databaseForDisplay(command.database);

      // 1. The client and the database.
      const { merge, mock } = await run.openClientTarget(command.target, run.logger(hideTokens));
      if (mock) process.stderr.write(`No MERGE_API_KEY: mirroring from the embedded Prism mock at ${mock.url} (nothing is read from Merge).\n`);
      let mirror: EngagementMirror;
      try {
        mirror = await openEngagementMirror({ client: merge, database: command.database });
      } catch (error) {
        if (error instanceof MergeMirrorConfigError) throw new UsageError(`--db: ${hideTokens(error.message)}`);
        throw error;
      }
      run.defer(() => mirror.close());

      const accounts: MirrorAccountSummary[] = command.accountTokens.map(() => ({
        linkedAccountId: null,
        syncs: 0,
        failures: 0,
        pages: 0,
        records: 0,
        upserts: 0,
        deletions: 0,
        changed: 0,
        caughtUp: false,
      }));
      const summary: MirrorSummary = { database: display, kind: mirror.kind, accounts, caughtUp: false, durationMs: 0 };

      // 2. The webhooks, before the first sync: what changes while it runs is received too.
      if (command.listen !== undefined && command.webhookKey !== undefined) {
        const webhooks: MirrorWebhookSummary = { applied: 0, unchanged: 0, ignored: 0, refused: 0 };
        summary.webhooks = webhooks;
        const server = await listen(command.listen, command.webhookKey, mirror, webhooks, run);
        run.defer(() => closeServer(server));
      }
      process.stderr.write(
        `Mirroring ${counted(accounts.length, "linked account")} into ${display} (${mirror.kind})` +
          (command.every ? `, every ${command.every.text} until ${signalName("SIGINT")} or SIGTERM` : "") +
          ".\n",
      );

      // 3. The syncs: each account in turn; again every --every.
      let failure: string | undefined;
      for (let cycle = 1; ; cycle++) {
        const cycleStarted = performance.now();
        failure = undefined;
        for (const [index, token] of command.accountTokens.entries()) {
          if (run.stoppedBy) break;
          const account = accounts[index];
          if (account === undefined) continue;
          account.syncs += 1;
          try {
            const result = await mirror.sync({ accountToken: token, signal: run.stopping });
            add(account, result);
            run.note(syncLine(index, account, result, cycle));
          } catch (error) {
            if (run.stoppedBy && isAbortError(error)) break;
            account.failures += 1;
            account.caughtUp = false;
            failure = hideTokens(nameAndMessage(error));
            run.note(`${labelOf(index, account)}: sync failed: ${failure}${command.every ? ` (tried again in ${command.every.text})` : ""}`);
          }
        }
        if (run.stoppedBy || !command.every) break;
        const wait = command.every.ms - (performance.now() - cycleStarted);
        if (wait > 0) await sleep(wait, undefined, { signal: run.stopping }).catch(() => undefined);
        if (run.stoppedBy) break;
      }
      summary.caughtUp = accounts.every((account) => account.caughtUp);

      // 4. With --listen and without --every: keep receiving until a signal, once the first sync is done.
      if (command.listen !== undefined && !command.every && summary.caughtUp && !run.stoppedBy) {
        run.note(`Up to date; receiving webhooks until ${signalName("SIGINT")} or SIGTERM.`);
        await new Promise<void>((resolve) => run.stopping.addEventListener("abort", () => resolve(), { once: true }));
      }
      summary.durationMs = Math.round(performance.now() - started);

      let exitCode: number;
      // With --every a failed sync was tried again at the next one: a signal is the normal end.
      if (command.every || summary.caughtUp) exitCode = OK;
      else if (run.stoppedBy) exitCode = INTERRUPTED;
      else exitCode = FAILED;
      return { exitCode, summary: summaryLines(command, summary, { stoppedBy: run.stoppedBy, failure }), json: summary };
    },
  });
}

function add(account: MirrorAccountSummary, result: MirrorSyncSummary): void {
  account.linkedAccountId = result.linkedAccountId;
  account.pages += result.pages;
  account.records += result.records;
  account.upserts += result.upserts;
  account.deletions += result.deletions;
  account.changed += result.changed;
  account.caughtUp = result.caughtUp;
}

/** "linked account <id>", or the account's place on the command line before its id is known. */
function labelOf(index: number, account: MirrorAccountSummary): string {
  return account.linkedAccountId === null ? `account ${index + 1} (--account-token #${index + 1})` : `linked account ${account.linkedAccountId}`;
}

/** One sync's progress line. */
function syncLine(index: number, account: MirrorAccountSummary, result: MirrorSyncSummary, cycle: number): string {
  return (
    `${labelOf(index, account)}${cycle > 1 ? ` (sync ${cycle})` : ""}: ${counted(result.pages, "page")}, ${counted(result.records, "record")} ` +
    `(upserts ${grouped(result.upserts)} · deletions ${grouped(result.deletions)}), ${grouped(result.changed)} changed, ` +
    `${result.caughtUp ? "caught up" : "not caught up"} in ${duration(result.durationMs)}`
  );
}

/** Receives Merge's webhooks on `port` (any path), answering 2xx only once `mirror.apply` committed. */
async function listen(port: number, key: string, mirror: EngagementMirror, counts: MirrorWebhookSummary, run: CommandContext): Promise<Server> {
  const handle = createMergeWebhookNodeHandler({
    key,
    // The mirror's newer-wins makes a repeated delivery change nothing ("unchanged"): no dedupe store needed.
    dedupe: false,
    async onEvent(event) {
      const result = await mirror.apply(event);
      counts[result.outcome] += 1;
      run.note(`webhook ${result.event}${result.id === undefined ? "" : ` ${result.id}`}${result.linkedAccountId === undefined ? "" : ` of linked account ${result.linkedAccountId}`}: ${result.outcome}`);
    },
    onError(error, context) {
      run.note(`webhook refused (${context.status}): ${messageOf(error)}`);
    },
  });
  const server = createServer((req, res) => {
    if (run.stoppedBy) {
      // Stopping: Merge retries a 503, to this process's successor.
      counts.refused += 1;
      res.writeHead(503, { "content-type": "application/json", connection: "close", "retry-after": "30" }).end(JSON.stringify({ message: "Stopping; retry later" }));
      return;
    }
    void handle(req, res).then(() => {
      if (res.statusCode < 200 || res.statusCode > 299) counts.refused += 1;
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(hasCode(error, "EADDRINUSE") ? new UsageError(`--listen: port ${port} is in use`) : new UsageError(`--listen: cannot listen on port ${port}: ${messageOf(error)}`)));
    server.listen(port, () => resolve());
  });
  run.note(`Receiving Merge's webhooks on port ${(server.address() as AddressInfo).port} (a POST to any path), verified with MERGE_WEBHOOK_KEY.`);
  return server;
}

/** Stops taking connections and resolves once the requests in flight are answered. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

function summaryLines(command: MirrorCommand, summary: MirrorSummary, { stoppedBy, failure }: { stoppedBy: NodeJS.Signals | undefined; failure: string | undefined }): string[] {
  const syncs = summary.accounts.reduce((total, account) => total + account.syncs, 0);
  const done = `${counted(syncs, "sync")} of ${counted(summary.accounts.length, "linked account")} in ${duration(summary.durationMs)}`;
  const lines: string[] = [];
  if (stoppedBy !== undefined && (command.every || command.listen !== undefined)) lines.push(`Mirror into ${summary.database} stopped by ${signalName(stoppedBy)}: ${done}`);
  else if (summary.caughtUp) lines.push(`Mirror into ${summary.database} up to date: ${done}`);
  else if (stoppedBy !== undefined) lines.push(`Mirror into ${summary.database} stopped by ${signalName(stoppedBy)} before it caught up: ${done}`);
  else lines.push(`Mirror into ${summary.database} failed: ${failure ?? "a sync did not catch up"}`, `  ${done}`);
  for (const [index, account] of summary.accounts.entries()) {
    lines.push(
      `  ${labelOf(index, account)}: ${counted(account.pages, "page")}, ${counted(account.records, "record")}, upserts ${grouped(account.upserts)} · deletions ${grouped(account.deletions)}, ` +
        `${grouped(account.changed)} changed, ${account.caughtUp ? "caught up" : "not caught up"}${account.failures > 0 ? `, ${counted(account.failures, "failed sync")}` : ""}`,
    );
  }
  const { webhooks } = summary;
  if (webhooks) lines.push(`  webhooks: applied ${grouped(webhooks.applied)} · unchanged ${grouped(webhooks.unchanged)} · ignored ${grouped(webhooks.ignored)} · refused ${grouped(webhooks.refused)}`);
  if (!summary.caughtUp && !command.every) lines.push("What was committed stays; run the same command again to continue from each account's checkpoint.");
  return lines;
}
