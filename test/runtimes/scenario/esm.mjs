// ESM entry (Node, Bun, Deno): import the installed package, run the scenario, print one JSON line.
// The options come as JSON in the last argument.
import * as lib from "merge-crm-engagements";
import { parseOptions, runScenario } from "./core.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : globalThis.process.argv.slice(2);
const options = parseOptions(args[args.length - 1]);
const resolved = typeof import.meta.resolve === "function" ? String(import.meta.resolve("merge-crm-engagements")) : null;
const result = await runScenario(lib, options);
console.log(JSON.stringify({ loader: "esm", resolved, ...result }));
