/**
 * Compiles a JSON Schema received at run time (a linked account's meta `request_schema`) into the same
 * table the generated validators use, so that `check` (src/validation-runtime.ts) is the one runtime.
 * No code is built (no `new Function`): the result is data. The schema comes from the network, so
 * nothing in it is trusted: field names go into null-prototype objects, only own keys are read, every
 * `$ref` must resolve inside the schema itself, and a keyword `check` cannot evaluate is skipped and
 * listed in `ignored` rather than compiled into something that could throw or mislead.
 */
import { FORMATS, type FormatName } from "./formats.js";
import { TYPES, type CompiledSchema } from "./validation-runtime.js";

export interface RuntimeSchema {
  /** The compiled table; index 0 is the root. Walk it with `check(table, 0, data, base, out)`. */
  readonly table: readonly CompiledSchema[];
  /** Keywords the schema uses that the runtime does not support (each once, sorted); they are ignored. */
  readonly ignored: readonly string[];
}

// Keywords that only annotate or hold schemas for `$ref`: never listed as ignored.
const ANNOTATIONS = /^(?:description|title|default|examples?|readOnly|writeOnly|deprecated|\$schema|\$id|\$comment|definitions|\$defs|x-.*)$/;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNumber = (v: unknown): v is number => Number.isFinite(v);
const isObject = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Compiles a JSON Schema received at run time. Throws a TypeError naming the problem when `schema` is not a schema (not an object or boolean) or a `$ref` cannot be resolved. */
export function compileSchema(schema: unknown): RuntimeSchema {
  const table: CompiledSchema[] = [];
  const ignored = new Set<string>();
  // Each schema (object or boolean) is compiled once; a `$ref` cycle finds its target's reserved slot.
  const seen = new Map<unknown, number>();
  const fail = (message: string): never => {
    throw new TypeError(`compileSchema: ${message}`);
  };

  /** The node a local `$ref` (`#`, `#/definitions/a~1b`, percent-encoded) points at. */
  const resolve = (ref: string): unknown => {
    let node: unknown = schema;
    let pointer = "";
    try {
      pointer = decodeURIComponent(ref.slice(1));
    } catch {
      // A malformed escape: no pointer, reported below.
      pointer = "?";
    }
    if (ref[0] !== "#" || (pointer && pointer[0] !== "/")) fail(`cannot resolve $ref "${ref}" (only local JSON pointers are supported)`);
    for (const token of pointer.split("/").slice(1)) {
      const key = token.replace(/~1/g, "/").replace(/~0/g, "~");
      if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) fail(`cannot resolve $ref "${ref}"`);
      node = (node as Readonly<Record<string, unknown>>)[key];
    }
    return node;
  };

  const compile = (node: unknown, where: string): number => {
    const known = seen.get(node);
    if (known !== undefined) return known;
    if (typeof node !== "boolean" && !isObject(node)) return fail(`${where || "the schema"} is not a schema (${node === null ? "null" : typeof node})`);
    // Reserve the slot first, so that recursive schemas terminate.
    const index = table.push({}) - 1;
    seen.set(node, index);
    // `false` admits nothing: no type matches an empty mask.
    const out: CompiledSchema = node === false ? { t: 0 } : {};
    const all: number[] = [];
    let length: [number, number] | undefined;
    let range: [number, number] | undefined;
    const list = (value: unknown, key: string): number[] | undefined =>
      Array.isArray(value) && value.length > 0 ? value.map((sub, i) => compile(sub, `${where}/${key}/${i}`)) : undefined;
    if (node !== true && node !== false) {
      for (const [key, value] of Object.entries(node)) {
        let ok = true;
        switch (key) {
          case "type": {
            const bits = (Array.isArray(value) ? value : [value]).map((name) => (TYPES as readonly unknown[]).indexOf(name));
            ok = bits.length > 0 && !bits.includes(-1);
            if (ok) out.t = bits.reduce((mask, bit) => mask | (1 << bit), 0);
            break;
          }
          case "enum":
            if (Array.isArray(value)) out.e = value;
            else ok = false;
            break;
          case "const":
            all.push(table.push({ e: [value] }) - 1);
            break;
          case "format":
            if (typeof value === "string" && Object.hasOwn(FORMATS, value)) out.f = value as FormatName;
            else ignored.add(`format:${String(value)}`);
            break;
          case "minLength":
          case "maxLength":
            if (isCount(value)) (length ??= [0, Infinity])[key === "minLength" ? 0 : 1] = value;
            else ok = false;
            break;
          case "minimum":
          case "maximum":
            if (isNumber(value)) (range ??= [-Infinity, Infinity])[key === "minimum" ? 0 : 1] = value;
            else ok = false;
            break;
          case "properties":
            if (isObject(value)) {
              const fields: Record<string, number> = Object.create(null);
              for (const [name, sub] of Object.entries(value)) fields[name] = compile(sub, `${where}/properties/${name}`);
              out.p = fields;
            } else ok = false;
            break;
          case "required":
            if (Array.isArray(value) && value.every((name) => typeof name === "string")) {
              if (value.length > 0) out.q = value;
            } else ok = false;
            break;
          case "additionalProperties":
            out.x = value === true || compile(value, `${where}/${key}`);
            break;
          case "items":
            // The tuple form (an array of schemas) is not supported.
            ok = !Array.isArray(value);
            if (ok) out.i = compile(value, `${where}/${key}`);
            break;
          case "uniqueItems":
            ok = typeof value === "boolean";
            if (value === true) out.u = true;
            break;
          case "anyOf": {
            const branches = list(value, key);
            ok = branches !== undefined;
            if (branches) out.a = branches;
            break;
          }
          case "allOf": {
            const parts = list(value, key);
            ok = parts !== undefined;
            if (parts) all.push(...parts);
            break;
          }
          case "$ref":
            if (typeof value !== "string") return fail(`${where}/$ref is not a string`);
            all.push(compile(resolve(value), value));
            break;
          default:
            ok = ANNOTATIONS.test(key);
        }
        if (!ok) ignored.add(key);
      }
    }
    if (length) out.l = length;
    if (range) out.r = range;
    if (all.length > 0) out.n = all;
    table[index] = out;
    return index;
  };

  compile(schema, "");
  // A cycle through `$ref`, `allOf` or `anyOf` alone would make `check` recurse forever on one value.
  const state: number[] = [];
  const visit = (i: number): void => {
    if (state[i] === 1) fail(`$ref cycle: schema refers to itself without descending into a field or item`);
    if (state[i]) return;
    state[i] = 1;
    for (const next of [...(table[i]?.n ?? []), ...(table[i]?.a ?? [])]) visit(next);
    state[i] = 2;
  };
  table.forEach((_, i) => visit(i));
  return { table, ignored: [...ignored].sort() };
}
