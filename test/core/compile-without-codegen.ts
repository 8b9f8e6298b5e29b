/**
 * Run by test/core/schema-compiler-no-codegen.test.ts under `node --disallow-code-generation-from-strings`:
 * compiles a run-time schema and checks a valid and an invalid body, then tries `new Function` to show
 * the flag is on. Prints one JSON line.
 */
import { compileSchema } from "../../src/core/validation/schema-compiler.js";
import { check, failing, type Problem } from "../../src/core/validation/runtime.js";

const schema: unknown = JSON.parse(process.argv[2] ?? "null");
const bodies: unknown = JSON.parse(process.argv[3] ?? "[]");
const compiled = compileSchema(schema);
const results = (Array.isArray(bodies) ? bodies : []).map((body: unknown) => {
  const problems: Problem[] = [];
  check(compiled.table, 0, body, "", problems);
  return failing(problems, false);
});
let codegen: string;
try {
  new Function("return 1");
  codegen = "allowed";
} catch (error) {
  codegen = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
process.stdout.write(`${JSON.stringify({ ignored: compiled.ignored, results, codegen })}\n`);
