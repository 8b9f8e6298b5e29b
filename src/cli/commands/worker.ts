/**
 * `worker --redis URL`: a client for the target (as import builds it) handed to
 * `startEngagementWorker`, its stats printed as plain lines on stderr, and signals handled by the runner
 * so the last line is printed and a second signal quits at once.
 */
import { RATE_PLANS } from "../../bulk/index.js";
import type { Logger } from "../../index.js";
import type { EngagementWorker, EngagementWorkerStats, QueueDeliveryResult } from "../../queue/index.js";
import { redisForDisplay, type WorkerCommand } from "../args.js";
import { NAME, OK, ROWS_NOT_WRITTEN } from "../exit.js";
import { grouped } from "../progress.js";
import { CLOSE_TIMEOUT_MS, exitSoon, loadQueueLibrary, queueFailure, redisUnreachable, withoutRedisPassword } from "../queue-loader.js";
import { problemsText, rowErrorText } from "../row-reasons.js";
import { commandLogger, runCommand, signalName } from "../runner.js";

/** Milliseconds between progress lines (when something changed), and between lines at all. */
const PROGRESS_MS = 5000;
const IDLE_PROGRESS_MS = 60_000;
/** How long the worker waits for Redis at its start. */
const START_TIMEOUT_MS = 10_000;
/** A log line repeated within this window is counted, not written again. */
const REPEAT_WINDOW_MS = 30_000;

/**
 * `worker --redis URL`: delivers jobs until SIGTERM or SIGINT, then finishes those in flight and exits 0.
 * A second signal exits 130 at once: the jobs it held go back to the queue when their locks expire, and
 * their deliveries keep their Idempotency-Keys, so none is written twice. A Redis that does not answer
 * within START_TIMEOUT_MS of the start is exit 1 (a supervisor restarts the worker later).
 */
export function runWorker(command: WorkerCommand): Promise<number> {
  let worker: EngagementWorker | undefined;
  let stoppingSince = 0;
  return runCommand({
    signals: {
      stopping(signal) {
        if (!worker) return undefined;
        const active = worker.stats().active;
        return active === 0 ? `Stopping (${signal}): no jobs in flight.` : `Stopping (${signal}): no new jobs; waiting for the ${grouped(active)} in flight to finish (${signalName(signal)} again to quit at once).`;
      },
      stoppedAtOnce: "the jobs in flight go back to the queue when their locks expire, and are delivered once.",
    },
    async run(run) {
      run.stopping.addEventListener("abort", () => (stoppingSince = performance.now()), { once: true });
      // Whether the worker's connections are closed (or closing): else nothing is left to wait for at the end.
      let closing = false;
      // Not started, or not closed: ioredis is still trying to connect, and nothing else is left to wait for.
      run.defer(() => exitSoon(closing ? CLOSE_TIMEOUT_MS : 0));
      const library = await loadQueueLibrary();

      const line = run.note;
      // While Redis is away, BullMQ reports each reconnection: the same line, several times a second.
      const repeated = new RepeatedLines(line, REPEAT_WINDOW_MS);
      let lastError: string | undefined;
      let lastErrorAt = 0;
      // The client logs retries at info: the worker's own retried count says as much, once a progress line.
      const written = commandLogger((text) => repeated.write(text));
      const clientLogger: Logger = {
        ...written,
        error: (message) => {
          lastError = message;
          lastErrorAt = performance.now();
          written.error?.(message);
        },
      };
      // The worker logs pacing changes at info and the failure guard's holds at warn.
      const workerLogger: Logger = { ...clientLogger, info: (message) => repeated.write(message) };

      const { merge, mock } = await run.openClientTarget(command.target, clientLogger);
      if (command.secret === undefined) line("warning: MERGE_QUEUE_SECRET is not set: jobs that carry an account token will fail (set the secret their producers used).");
      const onResult = (result: QueueDeliveryResult) => {
        if (result.outcome !== "rejected" && result.outcome !== "failed") return;
        const where = [result.line === undefined ? undefined : `line ${result.line}`, `key ${result.key}`, `job ${result.jobId}`].filter((part) => part !== undefined).join(", ");
        line(`${result.outcome} (${where}): ${deliveryReason(result)}`);
      };
      const starting = library.startEngagementWorker({
        client: merge,
        connection: command.redis,
        ...(command.queue === undefined ? {} : { name: command.queue }),
        ...(command.concurrency === undefined ? {} : { concurrency: command.concurrency }),
        ...(command.rate === undefined ? {} : { ratePerMinute: command.rate }),
        ...(command.failureGuard === undefined ? {} : { failureGuard: command.failureGuard }),
        ...(command.secret === undefined ? {} : { secret: command.secret }),
        // Signals are handled by the runner, to print the last line and to quit at once on the second.
        closeOnSignals: false,
        onResult,
        logger: workerLogger,
      });
      // The worker is ready once Redis answers, which it may never do: a signal or the timeout ends the wait.
      let startTimer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        starting,
        new Promise<"signal">((resolve) => (run.stopping.aborted ? resolve("signal") : run.stopping.addEventListener("abort", () => resolve("signal"), { once: true }))),
        new Promise<"timeout">((resolve) => (startTimer = setTimeout(() => resolve("timeout"), START_TIMEOUT_MS))),
      ]).catch((error: unknown) => ({ error }));
      clearTimeout(startTimer);
      if (waited === "signal" || waited === "timeout") {
        // A worker that becomes ready after all is closed at once (the process exits soon anyway).
        starting.then((late) => late.close(), () => undefined);
        if (waited === "signal") return { exitCode: OK, summary: ["Stopped before the worker was ready: no job was taken."] };
        throw redisUnreachable(command, `no connection in ${START_TIMEOUT_MS / 1000} s${lastError === undefined ? "" : ` (${withoutRedisPassword(lastError, command.redis)})`}.`);
      }
      if ("error" in waited) throw queueFailure(waited.error, library, command);
      worker = waited;
      closing = true;
      const running = waited;
      // A signal closes the worker: it takes no new job and finishes those in flight.
      run.stopping.addEventListener("abort", () => void running.close(), { once: true });
      const target = mock ? `the embedded Prism mock at ${mock.url} (no MERGE_API_KEY: nothing reaches Merge)` : merge.baseUrl;
      const rate = command.rate === undefined ? `${RATE_PLANS.launch}/min (the default)` : typeof command.rate === "number" ? `${grouped(command.rate)}/min` : `${RATE_PLANS[command.rate]}/min (${command.rate})`;
      line(`Worker on queue ${running.name} at ${redisForDisplay(command.redis)}: ${rate} per linked account${command.concurrency === undefined ? "" : `, up to ${grouped(command.concurrency)} jobs at once`}.`);
      line(`Delivering to ${target}. Stop with Ctrl-C or SIGTERM.`);

      let last = workerLine(running.stats());
      let lastAt = performance.now();
      let closedAnyway!: () => void;
      const idleButNotClosed = new Promise<void>((resolve) => (closedAnyway = resolve));
      const timer = setInterval(() => {
        const stopping = run.stoppedBy !== undefined;
        if (stopping && running.stats().active === 0 && performance.now() - stoppingSince >= PROGRESS_MS) {
          // Closing waits for Redis, which may be gone; with no job held, nothing is lost by not waiting.
          line("No job in flight; not waiting for Redis to close the connections.");
          closing = false;
          closedAnyway();
          return;
        }
        // A job in flight cannot finish while Redis is away: say why the stop takes so long.
        if (stopping) {
          const recent = lastError !== undefined && performance.now() - lastErrorAt < REPEAT_WINDOW_MS ? ` (the last error: ${withoutRedisPassword(lastError, command.redis)})` : "";
          line(`Still stopping: ${grouped(running.stats().active)} in flight${recent}; Ctrl-C again to quit at once.`);
          return;
        }
        const now = workerLine(running.stats());
        if (now === last && performance.now() - lastAt < IDLE_PROGRESS_MS) return;
        line(`${NAME}: ${now}`);
        last = now;
        lastAt = performance.now();
      }, PROGRESS_MS);
      run.defer(() => clearInterval(timer));

      await Promise.race([running.closed, idleButNotClosed]);
      clearInterval(timer);
      repeated.flush();
      const summary = [`Worker stopped: ${workerLine(running.stats())}`];
      if (run.stoppedBy === undefined) return { exitCode: ROWS_NOT_WRITTEN, summary: [...summary, `${NAME}: the worker closed without a signal`] };
      return { exitCode: OK, summary };
    },
  });
}

/**
 * Writes each line, except one already written in the last `windowMs`: those are counted, and the count
 * is written with the line's next appearance after the window (or by `flush`).
 */
export class RepeatedLines {
  private readonly seen = new Map<string, { at: number; skipped: number }>();

  constructor(
    private readonly write_: (line: string) => void,
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  write(line: string): void {
    const t = this.now();
    const seen = this.seen.get(line);
    if (seen && t - seen.at < this.windowMs) {
      seen.skipped += 1;
      return;
    }
    this.write_(seen && seen.skipped > 0 ? `${line} (repeated ${times(seen.skipped)} since it was last shown)` : line);
    this.seen.set(line, { at: t, skipped: 0 });
    // Lines differ by ids and counts: only the recent ones are worth remembering.
    for (const [text, entry] of this.seen) if (t - entry.at >= this.windowMs && entry.skipped === 0) this.seen.delete(text);
  }

  flush(): void {
    for (const [text, entry] of this.seen) if (entry.skipped > 0) this.write_(`${text} (repeated ${times(entry.skipped)} since it was last shown)`);
    this.seen.clear();
  }
}

/** "delivered 12 (created 10, done before 1, rejected 1, failed 0), retried 3, deferred 0, active 2". */
export function workerLine(stats: EngagementWorkerStats): string {
  const delivered = stats.created + stats.doneBefore + stats.rejected + stats.failed;
  return `delivered ${grouped(delivered)} (created ${grouped(stats.created)}, done before ${grouped(stats.doneBefore)}, rejected ${grouped(stats.rejected)}, failed ${grouped(stats.failed)}), retried ${grouped(stats.retried)}, deferred ${grouped(stats.deferred)}${stats.held > 0 ? `, held ${grouped(stats.held)} (accounts suspended)` : ""}, active ${grouped(stats.active)}`;
}

function deliveryReason(result: QueueDeliveryResult): string {
  if (result.problems && result.problems.length > 0) return problemsText(result.problems);
  if (result.error) return rowErrorText(result.error);
  return "no reason given";
}

/** "once", "2 times". */
function times(n: number): string {
  return n === 1 ? "once" : `${grouped(n)} times`;
}
