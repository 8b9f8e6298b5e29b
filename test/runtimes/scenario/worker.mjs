// workerd entry, bundled with the package and its webhooks entry by esbuild: each request runs the
// scenarios with the options given as JSON in the `options` query parameter and answers with the report.
import * as lib from "merge-crm-engagements";
import * as webhooks from "merge-crm-engagements/webhooks";
import { parseOptions, runScenario } from "./core.mjs";
import { runWebhookScenario, webhookOptions } from "./webhooks.mjs";

export default {
  async fetch(request) {
    try {
      const options = parseOptions(new URL(request.url).searchParams.get("options") ?? "");
      const result = await runScenario(lib, options);
      const webhooksResult = await runWebhookScenario(webhooks, lib, webhookOptions(options));
      // What the driver checks to know Node.js compatibility is really off here.
      const nodeGlobals = { process: typeof globalThis.process, Buffer: typeof globalThis.Buffer };
      return Response.json({ loader: "esm", resolved: "bundled", resolvedWebhooks: "bundled", nodeGlobals, ...result, webhooks: webhooksResult });
    } catch (error) {
      return Response.json({ fatal: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
