/**
 * Progress of an import and of an export, the way npm, git and docker show it: a live bar on a terminal
 * (cli-progress), a plain line every few seconds in logs and CI. Both go to stderr, so `--json` output
 * on stdout stays machine-readable.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { BulkSummary } from "../bulk/index.js";

/** The outcomes counted, in `bulkCreate`'s words. */
export type ProgressOutcome = "created" | "done-before" | "rejected" | "held" | "failed" | "valid";

/** Where and how progress is shown. */
export interface ProgressOptions {
  /** The expected number of rows (a pre-count of the file); raised if more arrive. */
  total: number;
  /** Where to write. @default process.stderr */
  stream?: NodeJS.WritableStream;
  /** A live bar (on a terminal) or plain lines. */
  tty: boolean;
  /** Milliseconds between plain lines. @default 5000 */
  intervalMs?: number;
  /** The clock, in milliseconds. @default performance.now */
  now?: () => number;
  /** Written before each plain line. @default "merge-crm-engagements" */
  label?: string;
  /** A dry run: rows validated per minute and valid / rejected counts, instead of writes. */
  dryRun?: boolean;
}

/** The counts shown, per outcome: the summary's. */
export type ProgressCounts = Pick<BulkSummary, "created" | "doneBefore" | "rejected" | "held" | "failed" | "valid">;

export interface Progress {
  /** Counts one finished row. */
  add(outcome: ProgressOutcome): void;
  /** Prints a message without breaking the bar (a warning, "stopping..."). */
  note(message: string): void;
  /** The current line, as the plain output would print it. */
  line(): string;
  /** Draws the last state and stops the timers. */
  stop(): void;
  readonly counts: Readonly<ProgressCounts>;
}

/** Rates are measured over this many seconds. */
const WINDOW_SECONDS = 30;

/** Starts showing progress. */
export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const label = options.label ?? "merge-crm-engagements";
  const counts: ProgressCounts = { created: 0, doneBefore: 0, rejected: 0, held: 0, failed: 0, valid: 0 };
  const dryRun = options.dryRun === true;
  const started = now();
  let total = options.total;
  let done = 0;
  // Rows finished and writes per second, for the last WINDOW_SECONDS seconds.
  const rows = new Rate(started);
  const writes = new Rate(started);

  const figures = () => {
    const t = now();
    const rowsPerMs = rows.perMs(t);
    const remaining = Math.max(0, total - done);
    const eta = done >= total ? "0s" : rowsPerMs > 0 ? duration(remaining / rowsPerMs) : "--";
    if (dryRun) return { wpm: `${grouped(rowsPerMs * 60_000)} rows/min`, eta, outcomes: `valid ${grouped(counts.valid)} · rejected ${grouped(counts.rejected)}` };
    return {
      wpm: `${grouped(writes.perMs(t) * 60_000)} writes/min`,
      eta,
      outcomes:
        `created ${grouped(counts.created)} · done before ${grouped(counts.doneBefore)} · rejected ${grouped(counts.rejected)}` +
        (counts.held > 0 ? ` · held ${grouped(counts.held)}` : "") +
        ` · failed ${grouped(counts.failed)}`,
    };
  };
  const line = () => {
    const { wpm, eta, outcomes } = figures();
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    return `${grouped(done)}/${grouped(total)} rows (${percent}%) | ${wpm} | ETA ${eta} | ${outcomes}`;
  };

  // One bar in a MultiBar: its log() prints a message above the bar without breaking it.
  let multi: MultiBar | undefined;
  let bar: SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (options.tty) {
    // The text beside the bar takes about 100 columns: the bar gets what is left (10 to 30).
    const columns = "columns" in stream && typeof stream.columns === "number" ? stream.columns : 80;
    multi = new MultiBar(
      {
        format: "{bar} {value}/{total} rows | {wpm} | ETA {etaText} | {outcomes}",
        stream,
        hideCursor: true,
        barsize: Math.max(10, Math.min(30, columns - 102)),
        clearOnComplete: false,
        // Redrawn on its own timer; updates between frames cost nothing.
        fps: 8,
        formatValue: (value, _options, type) => (type === "value" || type === "total" ? grouped(value) : String(value)),
      },
      Presets.shades_classic,
    );
    const { wpm, eta, outcomes } = figures();
    bar = multi.create(total, 0, { wpm, etaText: eta, outcomes });
    // Rates and ETA move even while no row finishes (a 429's wait).
    timer = setInterval(() => refresh(), 1000);
  } else {
    timer = setInterval(() => stream.write(`${label}: ${line()}\n`), options.intervalMs ?? 5000);
  }
  timer.unref();

  const refresh = () => {
    if (!bar) return;
    if (done > total) {
      total = done;
      bar.setTotal(total);
    }
    const { wpm, eta, outcomes } = figures();
    bar.update(done, { wpm, etaText: eta, outcomes });
  };

  return {
    counts,
    add(outcome) {
      done += 1;
      if (done > total) total = done;
      const t = now();
      rows.add(t);
      if (outcome === "created") {
        counts.created += 1;
        writes.add(t);
      } else if (outcome === "done-before") counts.doneBefore += 1;
      else if (outcome === "rejected") counts.rejected += 1;
      else if (outcome === "valid") counts.valid += 1;
      else if (outcome === "held") counts.held += 1;
      else counts.failed += 1;
      refresh();
    },
    note(message) {
      if (multi) {
        multi.log(`${message}\n`);
        refresh();
        // Draw now (the message above the bar), not at the next frame: the run may end before it.
        multi.update();
      } else stream.write(`${message}\n`);
    },
    line,
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (multi) {
        refresh();
        multi.update();
        multi.stop();
        multi = undefined;
        bar = undefined;
      }
    },
  };
}

/** Events per millisecond over the last WINDOW_SECONDS seconds (or since the start, if shorter). */
class Rate {
  private readonly buckets = new Map<number, number>();

  constructor(private readonly started: number) {}

  add(t: number): void {
    const second = Math.floor(t / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
    for (const old of this.buckets.keys()) {
      if (old > second - WINDOW_SECONDS) break;
      this.buckets.delete(old);
    }
  }

  perMs(t: number): number {
    const second = Math.floor(t / 1000);
    let events = 0;
    for (const [at, count] of this.buckets) if (at > second - WINDOW_SECONDS) events += count;
    const span = Math.min(t - this.started, WINDOW_SECONDS * 1000 - 1000 + (t % 1000));
    return span > 0 ? events / span : 0;
  }
}

/** Progress of an export: pages, records and their rate. */
export interface ExportProgress {
  /** Counts one page written. */
  page(records: number, upserts: number, deletes: number): void;
  /** Prints a message without breaking the live line. */
  note(message: string): void;
  /** Draws the last state and stops the timers. */
  stop(): void;
}

/** Milliseconds between an export's plain progress lines (off a terminal). */
const EXPORT_PLAIN_MS = 5000;
/** An export's records per second are measured over this many milliseconds. */
const EXPORT_RATE_WINDOW_MS = 30_000;

/** Starts showing an export's progress: live on a terminal, a plain line every few seconds elsewhere. */
export function startExportProgress(tty: boolean, started: number, stream: NodeJS.WriteStream = process.stderr, label = "merge-crm-engagements"): ExportProgress {
  let pages = 0;
  let records = 0;
  let upserts = 0;
  let deletes = 0;
  // Records per page, stamped, for the last EXPORT_RATE_WINDOW_MS.
  const recent: { at: number; records: number }[] = [];
  const rate = () => {
    const now = performance.now();
    while (recent.length > 0 && (recent[0]?.at ?? now) < now - EXPORT_RATE_WINDOW_MS) recent.shift();
    const span = Math.min(now - started, EXPORT_RATE_WINDOW_MS);
    const sum = recent.reduce((total, sample) => total + sample.records, 0);
    return span > 0 ? (sum / span) * 1000 : 0;
  };
  const fields = () => ({
    pages: grouped(pages),
    records: grouped(records),
    rate: grouped(rate()),
    upserts: grouped(upserts),
    deletes: grouped(deletes),
    elapsed: duration(performance.now() - started),
  });
  const line = () => {
    const f = fields();
    return `${f.pages} pages | ${f.records} records | ${f.rate} records/s | upserts ${f.upserts} · deletes ${f.deletes} | ${f.elapsed}`;
  };

  let multi: MultiBar | undefined;
  let bar: SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    multi = new MultiBar(
      { format: "export: {pages} pages | {records} records | {rate} records/s | upserts {upserts} · deletes {deletes} | {elapsed}", stream, hideCursor: true, clearOnComplete: false, fps: 8 },
      Presets.shades_classic,
    );
    bar = multi.create(1, 0, fields());
    // The rate and the time move even while no page arrives (a 429's wait).
    timer = setInterval(() => bar?.update(0, fields()), 1000);
  } else {
    timer = setInterval(() => stream.write(`${label} export: ${line()}\n`), EXPORT_PLAIN_MS);
  }
  timer.unref();

  return {
    page(pageRecords, pageUpserts, pageDeletes) {
      pages += 1;
      records += pageRecords;
      upserts += pageUpserts;
      deletes += pageDeletes;
      recent.push({ at: performance.now(), records: pageRecords });
      bar?.update(0, fields());
    },
    note(message) {
      if (multi) {
        multi.log(`${message}\n`);
        bar?.update(0, fields());
        multi.update();
      } else stream.write(`${message}\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (multi) {
        bar?.update(0, fields());
        multi.update();
        multi.stop();
        multi = undefined;
        bar = undefined;
      }
    },
  };
}

/** 1234567 → "1,234,567". */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** "1 row", "2,000 rows". */
export function rowCount(n: number): string {
  return counted(n, "row");
}

/** "1 page", "12 records": a number and its noun, plural when it is not 1. */
export function counted(n: number, noun: string): string {
  return `${grouped(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** Milliseconds as "1h02m", "3m05s" or "42s". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
