/**
 * Builds the docs site into docs-dist/, offline:
 * 1. the API reference: TypeDoc (typedoc.json) writes Markdown pages into docs/api/ from the TSDoc of
 *    every public entry (package.json's `exports`), with the sidebar VitePress shows;
 * 2. the project's own files (CHANGELOG.md, ARCHITECTURE.md, CONTRIBUTING.md, BENCHMARKS.md) copied
 *    into docs/project/, their links to each other rewritten to the site's pages;
 * 3. the spec page: Redoc, inlined so that it makes no request to the network, into
 *    docs/public/spec/index.html (VitePress serves and copies public/ as it is: the site's /spec/).
 *    Redoc's options (the TypeScript code samples, no telemetry) are in redocly.yaml, under `openapi`;
 * 4. VitePress builds the guides (docs/guide/), the API reference and the project pages, with local
 *    search, into docs-dist/ (or serves them all with `--dev`).
 * Usage: `npm run docs` (and `npm run docs:dev` to serve it while editing: `--dev`).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publicEntries, root, run, step } from "./lib.js";

const dev = process.argv.includes("--dev");

step("typedoc: the API reference -> docs/api/");
rmSync(join(root, "docs", "api"), { recursive: true, force: true });
// The entry points are the package's exports (typedoc.json holds the other options).
run("typedoc", ["--logLevel", "Warn", ...publicEntries().flatMap(({ source }) => ["--entryPoints", source])]);

step("the project's files -> docs/project/");
const PROJECT_FILES = { "CHANGELOG.md": "changelog", "ARCHITECTURE.md": "architecture", "CONTRIBUTING.md": "contributing", "BENCHMARKS.md": "benchmarks" } as const;
const projectDir = join(root, "docs", "project");
rmSync(projectDir, { recursive: true, force: true });
mkdirSync(projectDir, { recursive: true });
for (const [file, page] of Object.entries(PROJECT_FILES)) {
  let text = readFileSync(join(root, file), "utf8");
  // Links between them become links between the pages; anything else in the repository, to GitHub's copy.
  for (const [other, otherPage] of Object.entries(PROJECT_FILES)) text = text.replaceAll(`](${other}`, `](./${otherPage}.md`);
  text = text.replaceAll("](README.md", "](../guide/getting-started.md");
  writeFileSync(join(projectDir, `${page}.md`), text);
}

step("redocly build-docs generated/openapi.json -> docs/public/spec/index.html (the site's /spec/)");
const page = join(root, "docs", "public", "spec", "index.html");
run("redocly", ["build-docs", "generated/openapi.json", "--inlineBundle", "--title", "Merge CRM Engagements API: reference and TypeScript client", "--output", page], {
  quiet: true,
});
// Redoc's "API docs by" badge loads its logo from Redocly's CDN, with no option to turn it off. The page
// must work offline and make no request to the network: the image source becomes an empty data URL
// (Redoc then hides the image; the attribution text stays).
writeFileSync(page, readFileSync(page, "utf8").replace(/https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg/g, "data:,"));

if (dev) {
  step("vitepress dev docs");
  run("vitepress", ["dev", "docs"]);
  process.exit(0);
}

step("vitepress build docs -> docs-dist/");
run("vitepress", ["build", "docs"], { quiet: true });
console.log(`docs site written to ${join(root, "docs-dist")}`);
