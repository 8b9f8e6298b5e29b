// ESM entry (Node, Bun, Deno): import the installed package and its webhooks entry, run the scenarios,
// print one JSON line. The options come as JSON in the last argument.
import * as lib from "merge-crm-engagements";
import * as webhooks from "merge-crm-engagements/webhooks";
import { parseOptions, runScenario } from "./core.mjs";
import { runWebhookScenario, webhookOptions } from "./webhooks.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : globalThis.process.argv.slice(2);
const options = parseOptions(args[args.length - 1]);
const resolve = (specifier) => (typeof import.meta.resolve === "function" ? String(import.meta.resolve(specifier)) : null);
const result = await runScenario(lib, options);
const webhooksResult = await runWebhookScenario(webhooks, lib, webhookOptions(options));
console.log(
  JSON.stringify({
    loader: "esm",
    resolved: resolve("merge-crm-engagements"),
    resolvedWebhooks: resolve("merge-crm-engagements/webhooks"),
    ...result,
    webhooks: webhooksResult,
  }),
);
