/**
 * Account validation's own costs, measured on the library's source (src/core/validation/schema-compiler.ts is not a
 * public entry point, so esbuild bundles it into bench/results/ first): compiling a linked account's
 * meta request_schema of 50 model fields, and checking a body against the compiled schema.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { wideMetaSchema } from "./fixtures.mjs";
import { median } from "./stats.mjs";

export async function measureAccountSchema(repoDir, resultsDir, runs) {
  const outfile = join(resultsDir, "schema-compiler.mjs");
  await esbuild.build({
    stdin: {
      contents: 'export { compileSchema } from "./src/core/validation/schema-compiler.ts"; export { check, failing } from "./src/core/validation/runtime.ts";',
      resolveDir: repoDir,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile,
    logLevel: "silent",
  });
  const { compileSchema, check, failing } = await import(pathToFileURL(outfile).href);
  const schema = wideMetaSchema(50);
  const body = { model: {}, linked_account_params: { owner_email: "owner@example.com" } };
  for (const [name, sub] of Object.entries(schema.properties.model.properties)) {
    body.model[name] = sub.enum ? sub.enum[0] : sub.type === "integer" ? 7 : sub.type === "array" ? [] : sub.type === "object" ? { id: "x" } : sub.format === "date-time" ? "2024-01-01T00:00:00Z" : "text";
  }
  const time = (fn) => {
    for (let i = 0; i < 200; i++) fn(); // warm-up
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      fn();
      samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    return median(samples);
  };
  const compiled = compileSchema(schema);
  const problems = [];
  check(compiled.table, 0, body, "", problems);
  if (failing(problems, false).length > 0) throw new Error(`the bench body does not fit its schema: ${JSON.stringify(problems)}`);
  return {
    fields: 50,
    runs,
    compileUs: time(() => compileSchema(schema)),
    checkUs: time(() => check(compiled.table, 0, body, "", [])),
  };
}
