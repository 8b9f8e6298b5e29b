/**
 * Section 2, size: bundles each one-file app of apps/ (creates one engagement) with esbuild, minified,
 * ESM, for the browser and for a worker (`platform: "neutral"`), and gzips it with zlib at level 9.
 * Our app bundles the built dist/ ESM entry and its openapi-fetch dependency. An app that cannot be
 * bundled for a platform is reported with esbuild's first errors instead of a number.
 */
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

export const APPS = ["raw-fetch", "openapi-fetch", "ours", "ours-novalidate", "merge-sdk"];

/** What every bundle of this section shares: bundled, minified ESM for ES2022, kept in memory, with a metafile. */
const BUNDLE = { bundle: true, minify: true, format: "esm", target: "es2022", write: false, metafile: true, logLevel: "silent" };
export const PLATFORMS = ["browser", "neutral"];

export async function measureSize(benchDir, resultsDir) {
  const results = { esbuildVersion: esbuild.version };
  for (const app of APPS) {
    results[app] = {};
    for (const platform of PLATFORMS) {
      try {
        const built = await esbuild.build({
          ...BUNDLE,
          entryPoints: [join(benchDir, "apps", `${app}.mjs`)],
          platform,
          // A worker runtime (Cloudflare, Deno, Vercel Edge) resolves ESM entry points, no Node built-ins.
          ...(platform === "neutral" ? { mainFields: ["module", "main"], conditions: ["worker", "import", "default"] } : {}),
          outfile: join(resultsDir, `${app}.${platform}.js`),
        });
        const code = built.outputFiles[0].contents;
        results[app][platform] = { minified: code.length, gzip: gzipSync(code, { level: 9 }).length };
        if (app === "ours" && platform === "browser") results.transportInCore = transportInBundle(built.metafile, code);
        if (app === "ours") {
          const analysis = await esbuild.analyzeMetafile(built.metafile, { verbose: false });
          writeFileSync(join(resultsDir, `size-${app}-${platform}.txt`), analysis);
          results[app][platform].analysis = analysis;
        }
      } catch (error) {
        const errors = (error.errors ?? [{ text: String(error) }]).map((e) => `${e.text}${e.location ? ` (${e.location.file})` : ""}`);
        results[app][platform] = { error: `${errors.length} esbuild error(s), first: ${errors.slice(0, 2).join("; ")}` };
      }
    }
  }
  results.oursSplit = await measureSplit(benchDir);
  results.oursBySource = await analyzeOursBySource(benchDir, resultsDir);
  return results;
}

/**
 * Our browser app as a code-splitting bundler ships it (esbuild `splitting: true`, as Vite, Rollup and
 * webpack do with `import()`): `initial` is what the page loads before the app runs (the entry chunk and
 * the chunks it imports statically), `lazy` each chunk only an `import()` loads (account validation's
 * machinery, on first use). Each file is gzipped on its own, as a server sends it.
 */
async function measureSplit(benchDir) {
  try {
    const built = await esbuild.build({
      ...BUNDLE,
      entryPoints: [join(benchDir, "apps", "ours.mjs")],
      platform: "browser",
      splitting: true,
      outdir: join(benchDir, "results", "split"),
    });
    // The metafile names outputs relative to the working directory; outputFiles by absolute path.
    const bytes = new Map(built.outputFiles.map((file) => [relative(process.cwd(), file.path), { minified: file.contents.length, gzip: gzipSync(file.contents, { level: 9 }).length }]));
    const outputs = built.metafile.outputs;
    const entry = Object.keys(outputs).find((path) => outputs[path].entryPoint?.endsWith("apps/ours.mjs"));
    const initial = new Set();
    const visit = (path) => {
      if (initial.has(path)) return;
      initial.add(path);
      for (const { path: next, kind } of outputs[path].imports) if (kind === "import-statement") visit(next);
    };
    visit(entry);
    const sum = (paths) => paths.map((path) => bytes.get(path)).reduce((total, one) => ({ minified: total.minified + one.minified, gzip: total.gzip + one.gzip }), { minified: 0, gzip: 0 });
    const lazy = Object.keys(outputs).filter((path) => !initial.has(path) && !path.endsWith(".map"));
    return {
      initial: { files: initial.size, ...sum([...initial]) },
      lazy: lazy.map((path) => ({ inputs: Object.keys(outputs[path].inputs).map((input) => input.replace(/^.*\.dist\//, "dist/").replace(/-[A-Z0-9]{8}\.js$/, "-*.js")), ...bytes.get(path) })),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

/** Strings only merge-crm-engagements/undici holds (dist/undici.js keeps them verbatim when minified). */
const TRANSPORT_STRINGS = ["npm install undici@7", "Body is unusable: the body stream was taken"];

/**
 * How much of the undici transport a bundle holds: its file (or undici itself) among esbuild's inputs,
 * and its strings in the output. Both 0 when the core stays free of it (issue 12).
 */
function transportInBundle(metafile, code) {
  const text = new TextDecoder().decode(code);
  return {
    inputs: Object.keys(metafile.inputs).filter((path) => /(^|\/)undici(\.js|\/)/.test(path)).length,
    strings: TRANSPORT_STRINGS.filter((marker) => text.includes(marker)).length,
  };
}

/**
 * dist/index.js is one file, so the metafile of the real bundle cannot say which source costs what.
 * For that breakdown only, the same app is bundled again from src/ (esbuild reads the TypeScript;
 * nothing is written to the work tree): analyzeMetafile then lists src/*.ts, generated/validators.ts
 * and openapi-fetch. The numbers of the table come from the dist bundle above, not from this one.
 */
async function analyzeOursBySource(benchDir, resultsDir) {
  const repoDir = join(benchDir, "..");
  try {
    const built = await esbuild.build({
      ...BUNDLE,
      entryPoints: [join(benchDir, "apps", "ours.mjs")],
      platform: "browser",
      outfile: join(resultsDir, "ours.from-src.browser.js"),
      plugins: [
        {
          name: "dist-to-src",
          setup(build) {
            build.onResolve({ filter: /dist\/index\.js$/ }, () => ({ path: join(repoDir, "src", "index.ts") }));
          },
        },
      ],
    });
    const code = built.outputFiles[0].contents;
    const analysis = await esbuild.analyzeMetafile(built.metafile, { verbose: false });
    const text = `Bundled from src/ (for attribution; minified ${code.length} B, gzip ${gzipSync(code, { level: 9 }).length} B)\n${analysis}`;
    writeFileSync(join(resultsDir, "size-ours-by-source.txt"), text);
    return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length, analysis };
  } catch (error) {
    return { error: String(error) };
  }
}
