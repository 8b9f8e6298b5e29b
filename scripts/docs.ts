/**
 * Builds the static API reference from the bundled spec: docs-dist/index.html, with Redoc inlined so the
 * page makes no request to the network. Redoc's options (the TypeScript code samples, no telemetry) are
 * in redocly.yaml, under `openapi`; options given on the command line would replace them all.
 * Usage: `npm run docs`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, run, step } from "./lib.js";

step("redocly build-docs generated/openapi.json -> docs-dist/index.html");
run("redocly", [
  "build-docs",
  "generated/openapi.json",
  "--inlineBundle",
  "--title",
  "Merge CRM Engagements API: reference and TypeScript client",
  "--output",
  join(root, "docs-dist", "index.html"),
], { quiet: true });
// Redoc's "API docs by" badge loads its logo from Redocly's CDN, with no option to turn it off. The page
// must work offline and make no request to the network: the image source becomes an empty data URL
// (Redoc then hides the image; the attribution text stays).
step("make the page self-contained");
const page = join(root, "docs-dist", "index.html");
const html = readFileSync(page, "utf8").replace(/https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg/g, "data:,");
writeFileSync(page, html);
console.log(`docs written to ${page}`);
