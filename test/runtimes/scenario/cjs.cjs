// CommonJS entry (Node, Bun, Deno): require the installed package, run the same scenario on it, print one
// JSON line. The options come as JSON in the last argument.
const lib = require("merge-crm-engagements");

const args = process.argv.slice(2);
import("./core.mjs")
  .then(async ({ parseOptions, runScenario }) => {
    const result = await runScenario(lib, parseOptions(args[args.length - 1]));
    console.log(JSON.stringify({ loader: "cjs", resolved: require.resolve("merge-crm-engagements"), ...result }));
  })
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
