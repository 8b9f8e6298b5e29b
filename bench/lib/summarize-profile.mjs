/**
 * Summarizes a .cpuprofile (from `node --cpu-prof`): self time by function and by file/package, and
 * the total (inclusive) time of the functions whose name matches an optional filter.
 *
 *   node bench/lib/summarize-profile.mjs <file.cpuprofile> [top=25]
 */
import { readFileSync } from "node:fs";

const [file, topArg = "25"] = process.argv.slice(2);
const top = Number(topArg);
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from samples × time deltas.
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const totalUs = [...self.values()].reduce((a, b) => a + b, 0);

const where = (cf) => {
  const url = cf.url || "(native)";
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (nm) return nm[1];
  if (url.startsWith("node:")) return url;
  const ours = url.match(/\/\.?dist\/(.*)$/);
  if (ours) return `ours: dist/${ours[1]}`;
  if (url.includes("/bench/")) return `bench/${url.split("/bench/")[1]}`;
  return url;
};

const fnSelf = new Map();
const fileSelf = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const key = `${cf.functionName || "(anonymous)"}  [${where(cf)}:${cf.lineNumber + 1}]`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  const w = cf.url ? where(cf) : cf.functionName || "(native)";
  fileSelf.set(w, (fileSelf.get(w) ?? 0) + us);
}

// Inclusive time per function (each sample counted once per function on its stack).
const inclusive = new Map();
profile.samples.forEach((id, i) => {
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const cf = byId.get(n).callFrame;
    const key = `${cf.functionName || "(anonymous)"}  [${where(cf)}:${cf.lineNumber + 1}]`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
});

const pct = (us) => `${((us / totalUs) * 100).toFixed(1).padStart(5)}%`;
const print = (title, map, n) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(v)}  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`);
};
console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms sampled`);
print("Self time by file / package", fileSelf, top);
print("Self time by function", fnSelf, top);
print("Inclusive time by function (ours and openapi-fetch only)", new Map([...inclusive].filter(([k]) => /ours: dist|openapi-fetch/.test(k))), top);
