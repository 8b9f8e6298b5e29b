/**
 * The one JSON Schema compiler: it turns schemas into the table `check` (src/core/validation/runtime.ts)
 * walks. It runs twice over: ahead of time, on our own spec, to write generated/validators.ts (with
 * hooks that make an unsupported keyword stop generation, so a spec change never goes unvalidated
 * silently); and at run time, on a linked account's meta `request_schema`. No code is built
 * (no `new Function`): the result is data. A schema from the network is not trusted: field names go into
 * null-prototype objects, only own keys are read, every `$ref` must resolve inside the document, and a
 * keyword `check` cannot evaluate is skipped and listed in `ignored` rather than compiled into something
 * that could throw or mislead.
 */
import type { FormatName } from "./formats.js";
import type { CompiledSchema, TYPES as RuntimeTypes } from "./runtime.js";

// The runtime's type names (their order gives the bits) and format names, here again so that this
// module, loaded on first use of account validation, imports nothing of the core at run time
// (src/core/validation/account-validation.ts). A unit test holds them to TYPES and FORMATS.
export const TYPES: typeof RuntimeTypes = ["string", "number", "integer", "boolean", "object", "array", "null"];
export const FORMAT_NAMES: readonly FormatName[] = ["uuid", "uri", "date-time"];

export interface RuntimeSchema {
  /** The compiled table; index 0 is the root. Walk it with `check(table, 0, data, base, out)`. */
  readonly table: readonly CompiledSchema[];
  /** Keywords the schema uses that the runtime does not support (each once, sorted); they are ignored. */
  readonly ignored: readonly string[];
}

// Keywords that only annotate or hold schemas for `$ref`: never listed as ignored.
const ANNOTATIONS = /^(?:description|title|default|examples?|readOnly|writeOnly|deprecated|\$schema|\$id|\$comment|definitions|\$defs|x-.*)$/;

const isObject = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Compiles a JSON Schema received at run time. Throws a TypeError naming the problem when `schema` is not a schema (not an object or boolean) or a `$ref` cannot be resolved. */
export function compileSchema(schema: unknown): RuntimeSchema {
  const compiler = createSchemaCompiler(schema);
  compiler.compile(schema, "");
  return compiler.finish();
}

/**
 * How one document is compiled beyond the run-time defaults. generated/validators.ts is built with
 * stricter ones (scripts/compile-validators.ts): there an unsupported keyword stops generation and
 * identical schemas share an entry.
 */
export interface SchemaCompilerHooks {
  /** Every schema passes here; `entry` compiles one into a slot of its own (once per object), `resolve` follows a `$ref`. */
  compile?(node: unknown, where: string, entry: (node: unknown, where: string) => number, resolve: (ref: unknown) => unknown): number;
  /** A keyword or format (`format:email`) the runtime cannot evaluate; by default skipped and listed in `ignored`. */
  unsupported?(what: string, where: string): void;
}

/** Compiles schemas of one document into one table, so that its schemas can refer to each other. */
export interface SchemaCompiler {
  /** Compiles a schema found at `where` in the document; returns its index in the table. */
  compile(node: unknown, where: string): number;
  /** The table of everything compiled, once checked for cycles that would make `check` recurse forever. */
  finish(): RuntimeSchema;
}

/** Whether a keyword only annotates (or holds schemas for `$ref`s): it never changes what is valid. */
export const isAnnotation = (key: string): boolean => ANNOTATIONS.test(key);

/** A compiler of the schemas in `document`, against which every `$ref` (`#/...`) resolves. */
export function createSchemaCompiler(document: unknown, hooks: SchemaCompilerHooks = {}): SchemaCompiler {
  const table: CompiledSchema[] = [];
  const ignored = new Set<string>();
  // Each schema (object or boolean) is compiled once; a `$ref` cycle finds its target's reserved slot.
  const seen = new Map<unknown, number>();
  const fail = (message: string): never => {
    throw new TypeError(`compileSchema: ${message}`);
  };
  const unsupported = (what: string, where: string) => (hooks.unsupported ? hooks.unsupported(what, where) : ignored.add(what));
  const compile = (node: unknown, where: string): number => (hooks.compile ? hooks.compile(node, where, compileEntry, resolve) : compileEntry(node, where));

  const compileEntry = (node: unknown, where: string): number => {
    const known = seen.get(node);
    if (known !== undefined) return known;
    if (typeof node !== "boolean" && !isObject(node)) fail(`${where || "the schema"} is not a schema (${node === null ? "null" : typeof node})`);
    // Reserve the slot first, so that recursive schemas terminate.
    const index = table.push({}) - 1;
    seen.set(node, index);
    // `false` admits nothing: no type matches an empty mask.
    const out: CompiledSchema = node === false ? { t: 0 } : {};
    const all: number[] = [];
    const length: [number, number] = [0, Infinity];
    const range: [number, number] = [-Infinity, Infinity];
    const sub = (value: unknown, key: string | number) => compile(value, `${where}/${key}`);
    for (const [key, value] of isObject(node) ? Object.entries(node) : []) {
      const list = () => (Array.isArray(value) && value.length > 0 ? value.map((v, i) => sub(v, `${key}/${i}`)) : 0);
      let ok: unknown = true;
      switch (key) {
        case "type": {
          const bits = (Array.isArray(value) ? value : [value]).map((name) => (TYPES as readonly unknown[]).indexOf(name));
          if ((ok = bits.length && !bits.includes(-1))) out.t = bits.reduce((mask, bit) => mask | (1 << bit), 0);
          break;
        }
        case "enum":
          if ((ok = Array.isArray(value))) out.e = value as unknown[];
          break;
        case "const":
          all.push(table.push({ e: [value] }) - 1);
          break;
        case "format":
          if ((FORMAT_NAMES as readonly unknown[]).includes(value)) out.f = value as FormatName;
          else unsupported(`format:${String(value)}`, where);
          break;
        case "minLength":
        case "maxLength":
          // Counts only: a negative or fractional bound is no schema ajv accepts.
          if ((ok = Number.isSafeInteger(value) && (value as number) >= 0)) length[+(key[1] === "a")] = value as number;
          break;
        case "minimum":
        case "maximum":
          if ((ok = Number.isFinite(value))) range[+(key[1] === "a")] = value as number;
          break;
        case "properties":
          if ((ok = isObject(value))) {
            const fields: Record<string, number> = Object.create(null);
            for (const [name, field] of Object.entries(value as object)) fields[name] = sub(field, `${key}/${name}`);
            out.p = fields;
          }
          break;
        case "required":
          if ((ok = Array.isArray(value) && value.every((name) => typeof name === "string")) && value[0] !== undefined) out.q = value as string[];
          break;
        case "additionalProperties":
          out.x = value === true || sub(value, key);
          break;
        case "items":
          // The tuple form (an array of schemas) is not supported.
          if ((ok = !Array.isArray(value))) out.i = sub(value, key);
          break;
        case "uniqueItems":
          ok = typeof value === "boolean";
          if (value === true) out.u = true;
          break;
        case "anyOf":
        case "allOf": {
          const parts = list();
          if ((ok = parts)) key < "anyOf" ? all.push(...parts) : (out.a = parts);
          break;
        }
        case "$ref":
          all.push(compileEntry(resolve(value), String(value)));
          break;
        default:
          ok = ANNOTATIONS.test(key);
      }
      if (!ok) unsupported(key, where);
    }
    if (length[0] || length[1] < Infinity) out.l = length;
    if (range[0] > -Infinity || range[1] < Infinity) out.r = range;
    if (all[0] !== undefined) out.n = all;
    table[index] = out;
    return index;
  };

  /** The node a local `$ref` (`#`, `#/definitions/a~1b`, percent-encoded) points at. */
  const resolve = (ref: unknown): unknown => {
    let node = document;
    try {
      const pointer = decodeURIComponent(String(ref).slice(1));
      if (typeof ref !== "string" || ref[0] !== "#" || (pointer && pointer[0] !== "/")) throw 0;
      for (const token of pointer.split("/").slice(1)) {
        const key = token.replace(/~1/g, "/").replace(/~0/g, "~");
        if (!Object.hasOwn(node as object, key)) throw 0;
        node = (node as Readonly<Record<string, unknown>>)[key];
      }
    } catch {
      fail(`cannot resolve $ref ${JSON.stringify(ref)}`);
    }
    return node;
  };

  const finish = (): RuntimeSchema => {
    // A cycle through `$ref`, `allOf` or `anyOf` alone would make `check` recurse forever on one value.
    const state: number[] = [];
    const visit = (i: number): void => {
      if (state[i] === 1) fail("$ref cycle that descends into no field or item");
      if (!state[i]) {
        state[i] = 1;
        for (const next of [...(table[i]?.n ?? []), ...(table[i]?.a ?? [])]) visit(next);
        state[i] = 2;
      }
    };
    table.forEach((_, i) => visit(i));
    return { table, ignored: [...ignored].sort() };
  };

  return { compile, finish };
}
