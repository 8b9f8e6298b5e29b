/**
 * Type-checks every TypeScript sample of the README and the guides (each ```ts block of README.md and
 * docs/guide/*.md) against the package's source, so that a sample that rots fails `npm test`.
 *
 * Each block becomes a module of its own in .tmp/doc-samples/ (named after its file and line), and
 * `tsc` checks them all with tsconfig.json's settings, `merge-crm-engagements` and each of its entries
 * mapped to src/. What a sample takes as given (a client `merge`, the `rows` to import, an `accountToken`,
 * your app's own functions) is declared once in docs/samples.d.ts: a sample that declares the same
 * name uses its own; the app code a sample imports (`./logCall.js`) is in docs/samples/. A block that is
 * not meant to compile (a sketch of types) is fenced ```ts nocheck.
 * Usage: `npm run check:docs`.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { publicEntries, root, run, step } from "./lib.js";

const out = join(root, ".tmp", "doc-samples");
const sources = ["README.md", ...readdirSync(join(root, "docs", "guide")).filter((name) => name.endsWith(".md")).sort().map((name) => join("docs", "guide", name))];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// The app code a sample imports from "./name.js" (the mock guide's logCall), beside the samples.
for (const name of readdirSync(join(root, "docs", "samples"))) copyFileSync(join(root, "docs", "samples", name), join(out, name));
let samples = 0;
for (const source of sources) {
  const lines = readFileSync(join(root, source), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(ts|typescript)(\s.*)?$/.exec(lines[i] ?? "");
    if (!fence) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end++;
    i = end;
    if ((fence[2] ?? "").includes("nocheck")) continue;
    const name = `${source.replace(/[/.]/g, "_")}_line${start}.ts`;
    // `export {}` makes each sample a module: its names are its own, and top-level await is allowed.
    writeFileSync(join(out, name), `// ${source}, line ${start}\n${lines.slice(start, end).join("\n")}\nexport {};\n`);
    samples++;
  }
}

const paths: Record<string, string[]> = {};
for (const { specifier, source } of publicEntries()) paths[specifier] = [relative(out, join(root, source))];
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: relative(out, join(root, "tsconfig.json")),
      compilerOptions: { baseUrl: ".", paths, noEmit: true, noUnusedLocals: false },
      include: ["*.ts", relative(out, join(root, "docs", "samples.d.ts"))],
    },
    null,
    2,
  ),
);
step(`tsc: ${samples} samples of ${sources.length} files (README.md, docs/guide/*.md)`);
run("tsc", ["-p", join(out, "tsconfig.json")]);
console.log(`${samples} samples type-check`);
