/**
 * The one runner of the CLI's commands: what every command does the same way, so that a command's file
 * says only what is its own. It stops on SIGINT and SIGTERM in two stages (the first lets the work in
 * flight finish, the second quits at once), builds the logger, opens the client target, prints the
 * summary and the `--json` answer, turns a usage error into exit 2, and closes what the command opened.
 */
import type { Logger } from "../index.js";
import { UsageError, type Target } from "./args.js";
import { debug, openClientTarget, type Connection } from "./client-target.js";
import { INTERRUPTED, NAME, usageError } from "./exit.js";
import { InputError } from "./input.js";

/** What a command ends with; the runner prints it. */
export interface CommandResult {
  exitCode: number;
  /** The summary for people, on stderr (where the progress was), before any `--json` answer. */
  summary?: readonly string[];
  /** A report for people on stdout (`status`), printed when `--json` is not given. */
  report?: readonly string[];
  /** The `--json` answer, one line on stdout, printed when `--json` is given. */
  json?: unknown;
}

/** A failure the command explains itself: `NAME: message` on stderr, and its exit code. */
export class CommandFailure extends Error {
  override name = "CommandFailure";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** How a command stops on SIGINT and SIGTERM. */
export interface StopOnSignals {
  /** What the first signal prints (nothing for `undefined`): what the command finishes before it stops. */
  stopping(signal: NodeJS.Signals): string | undefined;
  /** What the second prints after "stopped at once; ": what is left, and how to go on. */
  stoppedAtOnce: string;
}

export interface CommandDefinition {
  /** `--json`: print the result's `json` (stdout then holds nothing else). */
  json?: boolean;
  /** Stop in two stages on SIGINT and SIGTERM; without it a signal ends the process as usual. */
  signals?: StopOnSignals;
  run(context: CommandContext): Promise<CommandResult>;
}

/** A live progress display: messages go through it, so they do not break its line. */
export interface ProgressDisplay {
  note(message: string): void;
  stop(): void;
}

/** What the runner gives a command while it runs. */
export interface CommandContext {
  /** Aborted at the first SIGINT or SIGTERM: take nothing new, finish what is in flight. */
  readonly stopping: AbortSignal;
  /** The first signal received, once one is. */
  readonly stoppedBy: NodeJS.Signals | undefined;
  /** Prints a line on stderr, through the progress display when one is shown. */
  note(message: string): void;
  /** Shows a progress display until the command ends (or stops it itself). */
  showProgress<Display extends ProgressDisplay>(display: Display): Display;
  /**
   * Closes something when the command ends, the last opened first. `atOnce`: also at the second signal,
   * before the process exits (only what its close does before its first `await` is sure to happen).
   */
  defer(close: () => unknown, options?: { atOnce?: boolean }): void;
  /** The logger given to the client: warnings and errors as notes, debug lines with NODE_DEBUG. */
  logger(redact?: (message: string) => string): Logger;
  /** The client for a target; an embedded mock it starts is closed at the end. */
  openClientTarget(target: Target, logger: Logger): Promise<Connection>;
}

/** "Ctrl-C" for SIGINT (what the user pressed), else the signal's name. */
export function signalName(signal: NodeJS.Signals): string {
  return signal === "SIGINT" ? "Ctrl-C" : signal;
}

/**
 * The client's logger for a command: warnings and errors written as lines by `write` (without what
 * `redact` removes), debug lines with NODE_DEBUG=merge-crm-engagements (the transport, and every
 * request and response line of the client).
 */
export function commandLogger(write: (line: string) => void, redact: (message: string) => string = (message) => message): Logger {
  return {
    warn: (message) => write(`warning: ${redact(message)}`),
    error: (message) => write(`error: ${redact(message)}`),
    ...(debug.enabled ? { debug: (message: string) => debug("%s", redact(message)) } : {}),
  };
}

/** Runs a command to its exit code. An error it does not expect is thrown on, for main's handler. */
export async function runCommand(definition: CommandDefinition): Promise<number> {
  const closers: { close: () => unknown; atOnce: boolean }[] = [];
  const takeClosers = (which: (closer: { atOnce: boolean }) => boolean) => {
    const taken = closers.filter(which);
    for (const closer of taken) closers.splice(closers.indexOf(closer), 1);
    return taken.reverse();
  };
  let display: ProgressDisplay | undefined;
  const stopDisplay = () => {
    display?.stop();
    display = undefined;
  };
  const note = (message: string) => (display ? display.note(message) : process.stderr.write(`${message}\n`));
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;

  const { signals } = definition;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!signals) return;
    if (stoppedBy !== undefined) {
      // The second signal: out at once, after what must not be left behind (a lock, the journal's last records).
      for (const { close } of takeClosers((closer) => closer.atOnce)) void close();
      process.stderr.write(`\n${NAME}: stopped at once; ${signals.stoppedAtOnce}\n`);
      process.exit(INTERRUPTED);
    }
    stoppedBy = signal;
    const message = signals.stopping(signal);
    if (message !== undefined) note(message);
    controller.abort();
  };
  if (signals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }

  const context: CommandContext = {
    stopping: controller.signal,
    get stoppedBy() {
      return stoppedBy;
    },
    note,
    showProgress(shown) {
      display = shown;
      return shown;
    },
    defer(close, options = {}) {
      closers.push({ close, atOnce: options.atOnce === true });
    },
    logger: (redact) => commandLogger(note, redact),
    async openClientTarget(target, logger) {
      const connection = await openClientTarget(target, logger);
      const { mock } = connection;
      if (mock) context.defer(() => mock.close());
      return connection;
    },
  };

  try {
    const result = await definition.run(context);
    stopDisplay();
    if (result.summary) process.stderr.write(`${result.summary.join("\n")}\n`);
    // stdout holds one answer: the JSON for a program, or the report for people.
    if (definition.json === true) {
      if (result.json !== undefined) process.stdout.write(`${JSON.stringify(result.json)}\n`);
    } else if (result.report) process.stdout.write(`${result.report.join("\n")}\n`);
    return result.exitCode;
  } catch (error) {
    stopDisplay();
    if (error instanceof UsageError || error instanceof InputError) return usageError(error.message);
    if (error instanceof CommandFailure) {
      process.stderr.write(`${NAME}: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  } finally {
    stopDisplay();
    if (signals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    for (const { close } of takeClosers(() => true)) await close();
  }
}

/**
 * A message without the account tokens a command was given (the client's errors never hold them; this
 * is a second lock for what a command prints). Tokens shorter than 4 characters are left, as the
 * client's redactor leaves them: they would mangle ordinary text.
 */
export function withoutAccountTokens(message: string, tokens: readonly string[]): string {
  return tokens.reduce((text, token) => (token.length >= 4 ? text.split(token).join("***") : text), message);
}
