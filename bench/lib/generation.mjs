/**
 * Section 5, generation: the repo's spec pipeline, `redocly lint` (what `npm run lint:spec` runs) then
 * `tsx scripts/generate.ts <tmpdir>` (bundle → openapi-typescript types → validators → code samples)
 * into a temporary directory, so the work tree is not touched. RUNS times; median per step.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./stats.mjs";
import { mustSucceed, timed } from "./spawn.mjs";

export async function measureGeneration(repoDir, runs) {
  const bin = (name) => join(repoDir, "node_modules", ".bin", name);
  const rows = { lint: [], bundle: [], types: [], validators: [], total: [] };
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), "merge-bench-generate-"));
    try {
      const lint = await mustSucceed("redocly lint", timed(bin("redocly"), ["lint", "--format=stylish"], { cwd: repoDir }));
      const generate = await mustSucceed("scripts/generate.ts", timed(bin("tsx"), ["scripts/generate.ts", out], { cwd: repoDir }));
      // Steps from the `==> ` banners: bundle, types (openapi-typescript), validators (+ code samples).
      const at = (word) => generate.marks.find((m) => m.step.includes(word))?.atMs;
      const [bundle, types, validators] = [at("bundle"), at("openapi-typescript"), at("compile validators")];
      rows.lint.push(lint.ms);
      if (bundle !== undefined && types !== undefined && validators !== undefined) {
        rows.bundle.push(types); // process start → types banner: tsx start-up + redocly bundle
        rows.types.push(validators - types);
        rows.validators.push(generate.ms - validators);
      }
      rows.total.push(lint.ms + generate.ms);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { runs: v.length, ms: v.length ? median(v) : null }]));
}
