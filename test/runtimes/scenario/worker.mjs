// workerd entry, bundled with the package by esbuild: each request runs the scenario with the options
// given as JSON in the `options` query parameter and answers with the report.
import * as lib from "merge-crm-engagements";
import { parseOptions, runScenario } from "./core.mjs";

export default {
  async fetch(request) {
    try {
      const options = parseOptions(new URL(request.url).searchParams.get("options") ?? "");
      const result = await runScenario(lib, options);
      // What the driver checks to know Node.js compatibility is really off here.
      const nodeGlobals = { process: typeof globalThis.process, Buffer: typeof globalThis.Buffer };
      return Response.json({ loader: "esm", resolved: "bundled", nodeGlobals, ...result });
    } catch (error) {
      return Response.json({ fatal: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
