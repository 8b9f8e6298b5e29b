#!/usr/bin/env node
/**
 * The `merge-crm-engagements` command: reads the command line and the environment, and hands the
 * command to its file in commands/, each run by runner.ts. The queue's commands load BullMQ only when
 * one of them runs.
 */
import { parseCommand, USAGE, UsageError, type Command } from "./args.js";
import { runEnqueue } from "./commands/enqueue.js";
import { runExport } from "./commands/export.js";
import { runImport } from "./commands/import.js";
import { runMirror } from "./commands/mirror.js";
import { runJournalStatus, runQueueStatus } from "./commands/status.js";
import { runWorker } from "./commands/worker.js";
import { NAME, OK, ROWS_NOT_WRITTEN, usageError } from "./exit.js";
import { nameAndMessage } from "../internal/errors.js";

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv, process.env);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    throw error;
  }
  switch (command.command) {
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return OK;
    case "import":
      return runImport(command, argv);
    case "status":
      return runJournalStatus(command);
    case "export":
      return runExport(command, argv);
    case "mirror":
      return runMirror(command);
    case "enqueue":
      return runEnqueue(command);
    case "worker":
      return runWorker(command);
    case "queue-status":
      return runQueueStatus(command);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${NAME}: ${nameAndMessage(error)}\n`);
    process.exitCode = ROWS_NOT_WRITTEN;
  },
);
