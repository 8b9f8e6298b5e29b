/**
 * The core does not grow (issue 11): an app that imports only "merge-crm-engagements" bundles nothing of
 * src/bulk/ and no Node built-in, while one that imports the bulk entry gets it. esbuild (installed with
 * tsup) bundles each one-line app from src/ and its metafile lists every input.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function inputsOf(app: string): Promise<string[]> {
  const result = await build({
    stdin: { contents: app, resolveDir: root, loader: "ts" },
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    logLevel: "silent",
    alias: { "merge-crm-engagements/bulk": "./src/bulk/index.ts", "merge-crm-engagements": "./src/index.ts" },
    external: ["node:*"],
  });
  return Object.keys(result.metafile.inputs);
}

test("an app that imports only merge-crm-engagements bundles none of src/bulk and no Node built-in", async () => {
  const inputs = await inputsOf('import { createMergeCrmClient } from "merge-crm-engagements"; export const merge = createMergeCrmClient({ apiKey: "k", accountToken: "t" });');
  expect(inputs).toContain("src/index.ts");
  expect(inputs.filter((input) => input.startsWith("src/bulk/"))).toEqual([]);
  expect(inputs.filter((input) => input.startsWith("node:"))).toEqual([]);
});

test("an app that imports merge-crm-engagements/bulk gets the bulk layer, over the same core", async () => {
  const inputs = await inputsOf('export { bulkCreate } from "merge-crm-engagements/bulk"; export { createMergeCrmClient } from "merge-crm-engagements";');
  expect(inputs).toEqual(expect.arrayContaining(["src/bulk/index.ts", "src/bulk/pacer.ts", "src/bulk/journal.ts", "src/index.ts"]));
});
