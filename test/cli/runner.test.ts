/**
 * The runner every CLI command runs on, in the process: what it prints where, the exit codes of the
 * errors it knows, the order it closes things in, and its two-stage stop on signals. The commands
 * themselves are run as child processes in cli.test.ts, export.test.ts and queue-cli.test.ts.
 */
import { jest } from "@jest/globals";
import { UsageError } from "../../src/cli/args.js";
import { InputError } from "../../src/cli/input.js";
import { CommandFailure, runCommand } from "../../src/cli/runner.js";

let stdout = "";
let stderr = "";
beforeEach(() => {
  stdout = "";
  stderr = "";
  jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => jest.restoreAllMocks());

class ExitCalled extends Error {
  constructor(readonly code: string | number | null | undefined) {
    super(`process.exit(${String(code)})`);
  }
}

describe("what goes where", () => {
  const result = { exitCode: 1, summary: ["Done: 2 rows", "  created 2"], report: ["Journal j: 2 rows"], json: { rows: 2 } };

  test("the summary on stderr; without --json, the report on stdout", async () => {
    expect(await runCommand({ run: async () => result })).toBe(1);
    expect(stderr).toBe("Done: 2 rows\n  created 2\n");
    expect(stdout).toBe("Journal j: 2 rows\n");
  });

  test("with --json, the JSON alone on stdout, on one line", async () => {
    expect(await runCommand({ json: true, run: async () => result })).toBe(1);
    expect(stderr).toBe("Done: 2 rows\n  created 2\n");
    expect(stdout).toBe('{"rows":2}\n');
  });
});

describe("errors it knows", () => {
  test.each([
    ["a UsageError", new UsageError("--rate must be a number")],
    ["an InputError", new InputError("FILE: cannot read 'x.csv'")],
  ])("%s is exit 2, with the pointer to --help", async (_, error) => {
    expect(await runCommand({ run: () => Promise.reject(error) })).toBe(2);
    expect(stderr).toBe(`merge-crm-engagements: ${error.message}\nRun 'merge-crm-engagements --help' for usage.\n`);
    expect(stdout).toBe("");
  });

  test("a CommandFailure is its own exit code and message", async () => {
    expect(await runCommand({ json: true, run: () => Promise.reject(new CommandFailure("--out: cannot write out.ndjson", 1)) })).toBe(1);
    expect(stderr).toBe("merge-crm-engagements: --out: cannot write out.ndjson\n");
    expect(stdout).toBe("");
  });

  test("any other error is thrown on, after everything opened is closed", async () => {
    const closed: string[] = [];
    const bug = new TypeError("a bug");
    await expect(
      runCommand({
        run: async (run) => {
          run.defer(() => closed.push("first opened"));
          run.defer(async () => closed.push("last opened"));
          throw bug;
        },
      }),
    ).rejects.toBe(bug);
    expect(closed).toEqual(["last opened", "first opened"]);
  });
});

test("what was opened is closed once, the last opened first, after the summary is printed", async () => {
  const events: string[] = [];
  await runCommand({
    run: async (run) => {
      run.defer(() => events.push("close the file"));
      run.defer(() => events.push("close the mock"));
      run.showProgress({ note: (message) => events.push(`note ${message}`), stop: () => events.push("stop the progress") });
      run.note("half way");
      return { exitCode: 0, summary: ["done"] };
    },
  });
  expect(events).toEqual(["note half way", "stop the progress", "close the mock", "close the file"]);
  expect(stderr).toBe("done\n");
});

describe("signals", () => {
  test("without a stop on signals, the runner installs no handler", async () => {
    const before = process.listenerCount("SIGINT");
    await runCommand({
      run: async () => {
        expect(process.listenerCount("SIGINT")).toBe(before);
        return { exitCode: 0 };
      },
    });
  });

  test("the first signal says what is finishing and aborts `stopping`; the second closes what must be and exits 130", async () => {
    const before = process.listenerCount("SIGTERM");
    const exit = jest.spyOn(process, "exit").mockImplementation((code) => {
      throw new ExitCalled(code);
    });
    const closed: string[] = [];
    const code = await runCommand({
      signals: { stopping: (signal) => `Stopping (${signal}): finishing the rows in flight.`, stoppedAtOnce: "resume with the same command." },
      run: async (run) => {
        run.defer(() => closed.push("journal"), { atOnce: true });
        run.defer(() => closed.push("mock"));
        expect(run.stopping.aborted).toBe(false);
        process.emit("SIGTERM", "SIGTERM");
        expect(run.stopping.aborted).toBe(true);
        expect(run.stoppedBy).toBe("SIGTERM");
        expect(stderr).toBe("Stopping (SIGTERM): finishing the rows in flight.\n");
        expect(() => process.emit("SIGINT", "SIGINT")).toThrow(ExitCalled);
        expect(exit).toHaveBeenCalledWith(130);
        expect(stderr).toBe("Stopping (SIGTERM): finishing the rows in flight.\n\nmerge-crm-engagements: stopped at once; resume with the same command.\n");
        expect(closed).toEqual(["journal"]);
        return { exitCode: 130 };
      },
    });
    expect(code).toBe(130);
    // Each closer runs once: the journal was closed at the second signal.
    expect(closed).toEqual(["journal", "mock"]);
    expect(process.listenerCount("SIGTERM")).toBe(before);
  });
});
