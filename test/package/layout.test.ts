/**
 * The layout's rules, read from the sources' own imports: a rule broken here is a room a newcomer can no
 * longer trust (ARCHITECTURE.md draws them).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Every file below `folder` (repo-relative) whose name matches `pattern`. */
function filesUnder(folder: string, pattern = /\.(ts|mts|cts|js|mjs|cjs)$/): string[] {
  return readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && pattern.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** The repo-relative files a source file imports (static, dynamic and type-only; relative specifiers only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((match) => match[1] ?? "");
  return specifiers.map((specifier) => relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, ".ts"));
}

/** The folder of `src/` a file belongs to: `core`, `delivery`, `queue`, ... (`index` for src/index.ts). */
function roomOf(file: string): string {
  const [, room = ""] = /^src\/([^/.]+)/.exec(file) ?? [];
  return room;
}

const sources = filesUnder("src");
const LAYERS = ["bulk", "queue", "cli", "webhooks", "sync", "undici", "mock", "delivery", "mirror"];

test("the sources are where ARCHITECTURE.md says: a public entry, the core, internal helpers, the delivery engine and the layers", () => {
  expect(new Set(sources.map(roomOf))).toEqual(new Set(["index", "core", "internal", ...LAYERS]));
});

test("the core imports no layer and nothing of the delivery engine", () => {
  const reaching = sources
    .filter((file) => roomOf(file) === "core")
    .flatMap((file) => importsOf(file).filter((target) => LAYERS.includes(roomOf(target))).map((target) => `${file} -> ${target}`));
  expect(reaching).toEqual([]);
});

test("layers reach the core only through its public entry (src/index.ts)", () => {
  const reaching = sources
    .filter((file) => LAYERS.includes(roomOf(file)))
    .flatMap((file) => importsOf(file).filter((target) => roomOf(target) === "core").map((target) => `${file} -> ${target}`));
  expect(reaching).toEqual([]);
});

test("bulk and the queue meet only in src/delivery/: neither imports the other, and delivery imports neither", () => {
  const crossing = sources.flatMap((file) =>
    importsOf(file)
      .filter((target) => {
        const [from, to] = [roomOf(file), roomOf(target)];
        return (from === "queue" && to === "bulk") || (from === "bulk" && to === "queue") || (from === "delivery" && LAYERS.includes(to) && to !== "delivery");
      })
      .map((target) => `${file} -> ${target}`),
  );
  expect(crossing).toEqual([]);
});

test("src/internal/ imports no layer and no public entry re-exports it", () => {
  const internalImports = sources.filter((file) => roomOf(file) === "internal").flatMap((file) => importsOf(file).filter((target) => LAYERS.includes(roomOf(target)) || target === "src/index.ts"));
  expect(internalImports).toEqual([]);
  const entries = ["src/index.ts", ...LAYERS.filter((layer) => layer !== "delivery").map((layer) => `src/${layer}/index.ts`)].filter((file) => sources.includes(file));
  const exported = entries.filter((file) => /export\s[^;]*from\s+["'][^"']*internal\//.test(readFileSync(join(root, file), "utf8")));
  expect(exported).toEqual([]);
});

test("no file in scripts/ imports from test/ or bench/ (benches live in bench/, test drivers in test/)", () => {
  const reaching = filesUnder("scripts").flatMap((file) => importsOf(file).filter((target) => /^(test|bench)\//.test(target)).map((target) => `${file} -> ${target}`));
  expect(reaching).toEqual([]);
});

test("no comment or string in src/ cites an issue number: a reader cannot follow it", () => {
  const citing = sources.flatMap((file) =>
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .flatMap((line, i) => (/\bissues?\s+#?\d+|\(#\d+\)/i.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(citing).toEqual([]);
});
