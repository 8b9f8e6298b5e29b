/**
 * The fleet's Redis scripts as files: each script in src/queue/lua/ opens with its KEYS, ARGV and what it
 * returns, and uses no key or argument it does not list; no TypeScript file of src/ holds Lua; and the
 * numbers the scripts share with the in-process pacer, failure guard and account health come in as
 * ARGV (src/queue/script-rules.ts, from src/delivery/rules.ts), never retyped in the Lua.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as deliveryRules from "../../src/delivery/rules.js";
import { fleetScript, luaDirectory, type FleetScript } from "../../src/queue/scripts.js";
import { SCRIPT_RULES } from "../../src/queue/script-rules.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPTS: FleetScript[] = ["admit", "settle", "suspend", "heartbeat"];

function filesUnder(dir: string, extension: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, extension);
    return entry.name.endsWith(extension) ? [path] : [];
  });
}

const luaFiles = filesUnder(luaDirectory(), ".lua");
const nameOf = (path: string) => relative(luaDirectory(), path);

/** The opening `--[[ ... ]]` block of a file, or undefined when it opens with anything else. */
function header(text: string): string | undefined {
  return /^--\[\[([\s\S]*?)\]\]/.exec(text)?.[1];
}

/** The Lua that runs: comments and string literals removed. */
function code(text: string): string {
  return text
    .replace(/--\[\[[\s\S]*?\]\]/g, "")
    .replace(/--.*$/gm, "")
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
}

/** The numbers written in a piece of Lua, table indices (`KEYS[3]`, `h[11]`) left out. */
function literals(lua: string): number[] {
  const withoutIndices = lua.replace(/\[\s*\d+\s*\]/g, "[]");
  return [...withoutIndices.matchAll(/(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi)].map((match) => Number(match[0]));
}

/** Every number `rules.ts` defines, its objects' fields included. */
function ruleNumbers(): Array<{ name: string; value: number }> {
  const found: Array<{ name: string; value: number }> = [];
  const visit = (name: string, value: unknown) => {
    if (typeof value === "number") found.push({ name, value });
    else if (typeof value === "object" && value !== null) for (const [key, inner] of Object.entries(value)) visit(`${name}.${key}`, inner);
  };
  for (const [name, value] of Object.entries(deliveryRules)) visit(name, value);
  for (const [name, value] of Object.entries(SCRIPT_RULES)) visit(name, value);
  return found;
}

test("the scripts and their shared pieces are .lua files, each script opening with its KEYS, ARGV and what it returns", () => {
  expect(luaFiles.map(nameOf).sort()).toEqual(
    ["admit.lua", "heartbeat.lua", "includes/base.lua", "includes/guard.lua", "includes/health.lua", "includes/pace.lua", "includes/rules.lua", "settle.lua", "suspend.lua"].map((name) => join(name)),
  );
  for (const path of luaFiles) {
    const opening = header(readFileSync(path, "utf8"));
    if (opening === undefined) throw new Error(`${nameOf(path)} does not open with a --[[ ... ]] comment saying what it is`);
  }
  for (const name of SCRIPTS) {
    const opening = header(readFileSync(join(luaDirectory(), `${name}.lua`), "utf8")) ?? "";
    expect({ name, KEYS: /^\s*KEYS\s*$/m.test(opening), ARGV: /^\s*ARGV\s*$/m.test(opening), Returns: /^\s*Returns\b/m.test(opening) }).toEqual({ name, KEYS: true, ARGV: true, Returns: true });
    // Every key and argument the script reads (its includes too) is listed, numbered, in its header.
    const listed = (section: string) => {
      const block = new RegExp(`^\\s*${section}\\s*$([\\s\\S]*?)(?=^\\s*(?:KEYS|ARGV|Returns)\\b|$(?![\\s\\S]))`, "m").exec(opening)?.[1] ?? "";
      return new Set([...block.matchAll(/^\s*(\d+)\s+\S/gm)].map((match) => Number(match[1])));
    };
    const body = code(fleetScript(name));
    for (const section of ["KEYS", "ARGV"] as const) {
      const used = new Set([...body.matchAll(new RegExp(`\\b${section}\\[(\\d+)\\]`, "g"))].map((match) => Number(match[1])));
      const documented = listed(section);
      const undocumented = [...used].filter((index) => !documented.has(index));
      expect({ name, section, undocumented }).toEqual({ name, section, undocumented: [] });
    }
  }
});

test("the loader pulls each shared piece in once, and leaves no include line", () => {
  for (const name of SCRIPTS) {
    const text = fleetScript(name);
    expect(text).not.toMatch(/@include/);
    expect(text.match(/local function nowMs\(/g)).toHaveLength(1);
  }
  expect(fleetScript("admit").match(/local rules = cjson\.decode\(ARGV\[1\]\)/g)).toHaveLength(1);
});

test("no TypeScript file of src/ holds Lua", () => {
  // The webhooks entry is edge-safe (no file system to read a script from at run time): its Redis
  // dedupe store keeps its one-line compare-and-delete in TypeScript.
  const edgeSafe = join("src", "webhooks", "dedupe.ts");
  const holding = filesUnder(join(root, "src"), ".ts").filter((path) => /redis\.p?call\s*\(/.test(readFileSync(path, "utf8")));
  expect(holding.map((path) => relative(root, path)).filter((path) => path !== edgeSafe)).toEqual([]);
});

test("the scripts retype none of the rules' numbers: each comes in as ARGV, under its name in script-rules.ts", () => {
  // Structural numbers only: 0 and 1 (counts, flags), 2 (doubling and halving), 1e15 (NEVER, a time long
  // ago); 1000 only in base.lua, where it converts TIME's seconds and microseconds to milliseconds.
  const structural = new Set([0, 1, 2, 1e15]);
  const shared = ruleNumbers().filter(({ value }) => !structural.has(value));
  expect(shared.length).toBeGreaterThan(20);
  for (const path of luaFiles) {
    const lua = code(readFileSync(path, "utf8"));
    const allowed = nameOf(path) === join("includes", "base.lua") ? new Set([...structural, 1000]) : structural;
    const stray = literals(lua).filter((value) => !allowed.has(value));
    expect({ file: nameOf(path), stray }).toEqual({ file: nameOf(path), stray: [] });
    const retyped = shared.filter(({ value }) => literals(lua).includes(value) && !allowed.has(value)).map(({ name }) => name);
    expect({ file: nameOf(path), retyped }).toEqual({ file: nameOf(path), retyped: [] });
  }
});

test("every rule the scripts read is one script-rules.ts sends, and every one it sends is read", () => {
  const read = new Set(luaFiles.flatMap((path) => [...code(readFileSync(path, "utf8")).matchAll(/\brules\.([A-Z_]+)\b/g)].map((match) => match[1] ?? "")));
  expect([...read].sort()).toEqual(Object.keys(SCRIPT_RULES).sort());
  // Sent under the names delivery's rules give them, with their values.
  for (const [name, value] of Object.entries(SCRIPT_RULES)) if (name in deliveryRules) expect({ name, value }).toEqual({ name, value: (deliveryRules as Record<string, unknown>)[name] });
});
