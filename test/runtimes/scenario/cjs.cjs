// CommonJS entry (Node, Bun, Deno): require the installed package and its webhooks entry, run the same
// scenarios on them, print one JSON line. The options come as JSON in the last argument.
const lib = require("merge-crm-engagements");
const webhooks = require("merge-crm-engagements/webhooks");

const args = process.argv.slice(2);
Promise.all([import("./core.mjs"), import("./webhooks.mjs")])
  .then(async ([{ parseOptions, runScenario }, { runWebhookScenario, webhookOptions }]) => {
    const options = parseOptions(args[args.length - 1]);
    const result = await runScenario(lib, options);
    const webhooksResult = await runWebhookScenario(webhooks, lib, webhookOptions(options));
    console.log(
      JSON.stringify({
        loader: "cjs",
        resolved: require.resolve("merge-crm-engagements"),
        resolvedWebhooks: require.resolve("merge-crm-engagements/webhooks"),
        ...result,
        webhooks: webhooksResult,
      }),
    );
  })
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
