/**
 * Edge runtimes forbid building code from strings. The run-time schema compiler and `check` must work
 * in a Node process started with `--disallow-code-generation-from-strings`, where `new Function` throws:
 * test/core/compile-without-codegen.ts compiles a meta-like schema there, checks two bodies and
 * reports whether `new Function` was refused (a run without the flag shows the probe can tell).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("./compile-without-codegen.ts", import.meta.url));

const schema = {
  type: "object",
  properties: {
    model: {
      type: "object",
      properties: {
        subject: { type: "string", maxLength: 255 },
        direction: { type: "string", enum: ["OUTBOUND"] },
        start_time: { type: "string", format: "date-time" },
        contacts: { type: "array", items: { $ref: "#/definitions/id" }, uniqueItems: true },
        linked_account_params: { type: "object", properties: { activity_owner_email: { type: "string" } }, required: ["activity_owner_email"] },
      },
      required: ["subject", "linked_account_params"],
    },
  },
  required: ["model"],
  definitions: { id: { type: "string", format: "uuid" } },
  not: { type: "null" },
};
const bodies = [
  { model: { subject: "Intro", start_time: "2024-05-01T10:00:00Z", contacts: ["123e4567-e89b-12d3-a456-426614174000"], linked_account_params: { activity_owner_email: "a@b.c" } } },
  { model: { subject: "Intro", direction: "INBOUND", start_time: "yesterday", linked_account_params: {} } },
];

interface Output {
  ignored: string[];
  results: { pointer: string; message: string }[][];
  codegen: string;
}

async function runScript(flags: string[]): Promise<Output> {
  const { stdout } = await run(process.execPath, [...flags, "--import", "tsx", SCRIPT, JSON.stringify(schema), JSON.stringify(bodies)], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as Output;
}

describe("compileSchema and check without code generation from strings", () => {
  it("compile and validate under --disallow-code-generation-from-strings, where new Function throws", async () => {
    const output = await runScript(["--disallow-code-generation-from-strings"]);
    expect(output.codegen).toMatch(/^EvalError: Code generation from strings disallowed/);
    expect(output.ignored).toEqual(["not"]);
    expect(output.results).toEqual([
      [],
      [
        { pointer: "/model/direction", message: "must be equal to one of the allowed values: OUTBOUND" },
        { pointer: "/model/start_time", message: 'must match format "date-time"' },
        { pointer: "/model/linked_account_params/activity_owner_email", message: "must have required property 'activity_owner_email'" },
      ],
    ]);
  }, 90_000);

  it("the probe can tell: without the flag, new Function works", async () => {
    const output = await runScript([]);
    expect(output.codegen).toBe("allowed");
    expect(output.results[0]).toEqual([]);
  }, 90_000);
});
