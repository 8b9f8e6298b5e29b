/**
 * A receiver stays small and edge-safe: a Worker that only receives webhooks, bundled by esbuild from
 * src/ as an app's bundler would, carries no Node built-in and none of the client (openapi-fetch, the
 * engagements resource, the validators): the webhooks entry reaches the core only for `MergeError`.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("a Worker receiving webhooks bundles no Node built-in and none of the client", async () => {
  const result = await build({
    stdin: {
      contents: 'import { createMergeWebhookHandler } from "./src/webhooks/index.ts"; export default { fetch: createMergeWebhookHandler({ key: "k", onEvent() {} }) };',
      resolveDir: root,
      loader: "ts",
    },
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    logLevel: "silent",
    external: ["node:*"],
  });
  const [output] = Object.values(result.metafile.outputs);
  if (!output) throw new Error("esbuild wrote no output");
  const used = Object.entries(output.inputs).filter(([, { bytesInOutput }]) => bytesInOutput > 0).map(([input]) => input);
  expect(output.imports.filter((imported) => imported.path.startsWith("node:"))).toEqual([]);
  expect(used.filter((input) => /openapi-fetch|src\/(client|engagements|request|validation)|generated\//.test(input))).toEqual([]);
  expect(used).toEqual(expect.arrayContaining(["src/webhooks/signature.ts", "src/webhooks/handler.ts", "src/core/errors.ts"]));
  const bytes = result.outputFiles?.[0]?.contents.byteLength ?? 0;
  process.stdout.write(`webhooks: a receiving Worker bundles to ${bytes} B minified (${used.length} modules)\n`);
  expect(bytes).toBeLessThan(20_000);
});
