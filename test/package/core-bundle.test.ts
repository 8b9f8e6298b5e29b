/**
 * The core does not grow: an app that imports only "merge-crm-engagements" bundles nothing of src/bulk/
 * and no Node built-in, while one that imports the bulk entry gets it. esbuild (installed with tsup)
 * bundles each one-line app from src/ and its metafile lists every input. Account validation's machinery
 * and reference resolution are reached only through `import()`, so code splitting keeps them out of the
 * entry.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function inputsOf(app: string): Promise<string[]> {
  return Object.keys((await bundle(app)).metafile.inputs);
}

async function bundle(app: string, splitting = false) {
  return build({
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
    ...(splitting ? { splitting: true, outdir: "out" } : {}),
  });
}

test("an app that imports only merge-crm-engagements bundles none of src/bulk and no Node built-in", async () => {
  const inputs = await inputsOf('import { createMergeCrmClient } from "merge-crm-engagements"; export const merge = createMergeCrmClient({ apiKey: "k", accountToken: "t" });');
  expect(inputs).toContain("src/index.ts");
  expect(inputs.filter((input) => input.startsWith("src/bulk/"))).toEqual([]);
  expect(inputs.filter((input) => input.startsWith("node:"))).toEqual([]);
});

test("an app that imports merge-crm-engagements/bulk gets the bulk layer, over the same core", async () => {
  const inputs = await inputsOf('export { bulkCreate } from "merge-crm-engagements/bulk"; export { createMergeCrmClient } from "merge-crm-engagements";');
  expect(inputs).toEqual(expect.arrayContaining(["src/bulk/index.ts", "src/delivery/pacer.ts", "src/bulk/journal.ts", "src/index.ts"]));
});

test("account validation is loaded on first use: with code splitting, a create-only app's entry chunk holds none of it", async () => {
  const app = 'import { createMergeCrmClient } from "merge-crm-engagements"; await createMergeCrmClient({ apiKey: "k", accountToken: "t" }).engagements.create({ subject: "s" });';
  const { metafile } = await bundle(app, true);
  const chunks = Object.entries(metafile.outputs);
  const entry = chunks.find(([, output]) => output.entryPoint === "<stdin>");
  const lazy = chunks.filter((chunk) => chunk !== entry);
  // Two chunks beside the entry, each imported only dynamically: account validation (the compiler, the
  // cache and describeFields) and reference resolution (the resolver and its lookup cache).
  expect(lazy).toHaveLength(2);
  expect(entry?.[1].imports).toEqual(lazy.map(([path]) => expect.objectContaining({ kind: "dynamic-import", path })));
  const chunkOf = (input: string) => lazy.find(([, output]) => Object.keys(output.inputs).includes(input));
  for (const group of [
    ["src/core/validation/schema-compiler.ts", "src/core/validation/account-validation.ts", "src/core/validation/form-fields.ts"],
    ["src/core/references/resolver.ts", "src/core/references/cache.ts"],
  ]) {
    const chunk = chunkOf(group[0] ?? "");
    for (const input of group) {
      expect(Object.keys(entry?.[1].inputs ?? {})).not.toContain(input);
      expect(Object.keys(chunk?.[1].inputs ?? {})).toContain(input);
    }
  }
  // And the lazy chunks import nothing: no core module was moved into a chunk shared with the entry.
  for (const [, output] of lazy) expect(output.imports).toEqual([]);
});
