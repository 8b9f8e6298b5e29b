/**
 * The runtime of the generated validators. `scripts/compile-validators.ts` compiles every schema of the
 * spec ahead of time into a compact table (generated/validators.ts): `$ref`s resolved, identical
 * schemas shared, annotations dropped, only the keywords below kept. `check` walks that table; nothing
 * here compiles a schema or builds code at run time (no `new Function`: edge workers forbid it).
 */
import { FORMATS, type FormatName } from "./formats.js";

/** A problem found in a value, located by its JSON pointer. */
export interface Problem {
  pointer: string;
  message: string;
  /**
   * Set for a field the spec does not know. It is no fault in JSON Schema terms (the schemas allow
   * other fields), so it fails a request only under `strictRequests`, and a response never.
   */
  unknown?: true;
}

/** One compiled schema. Numbers that name schemas are indexes into the table. */
export interface CompiledSchema {
  /** `type`, as a mask of `TYPES` bits. */
  t?: number;
  /** `enum`. */
  e?: readonly unknown[];
  /** `format`. */
  f?: FormatName;
  /** `minLength` and `maxLength`. */
  l?: readonly [number, number];
  /** `minimum` and `maximum`. */
  r?: readonly [number, number];
  /** `properties`: the schema of each field. */
  p?: Readonly<Record<string, number>>;
  /** `required`. */
  q?: readonly string[];
  /**
   * `additionalProperties`: a schema, or `true` to allow other fields silently. Absent: other fields
   * are noted as unknown (see `Problem.unknown`).
   */
  x?: number | true;
  /** `items`. */
  i?: number;
  /** `uniqueItems`. */
  u?: true;
  /** `anyOf`. */
  a?: readonly number[];
  /** `allOf`. */
  n?: readonly number[];
}

/** The JSON types, by their bit in `CompiledSchema.t`. */
export const TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;

function typeBits(data: unknown): number {
  if (data === null) return 64;
  if (Array.isArray(data)) return 32;
  switch (typeof data) {
    case "string":
      return 1;
    case "boolean":
      return 8;
    case "object":
      return 16;
    case "number":
      // An integer is a number too; NaN and Infinity are not JSON numbers.
      return Number.isInteger(data) ? 6 : Number.isFinite(data) ? 2 : 0;
    default:
      return 0;
  }
}

/** JSON pointer of a child (RFC 6901 escaping). */
export function child(pointer: string, key: string | number): string {
  return `${pointer}/${typeof key === "number" ? key : key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

/** Appends the problems of `data` (found at `pointer`) against schema `index` of `table` to `out`. */
export function check(table: readonly CompiledSchema[], index: number, data: unknown, pointer: string, out: Problem[]): void {
  const s = table[index];
  if (!s) throw new Error(`validators: no schema #${index}`);
  const fail = (message: string) => out.push({ pointer, message });
  const types = s.t;
  if (types !== undefined && !(typeBits(data) & types)) {
    fail(`must be ${TYPES.filter((_, bit) => types & (1 << bit)).join(" or ")}`);
    return;
  }
  if (s.e && !s.e.includes(data)) fail(`must be equal to one of the allowed values: ${s.e.map(String).join(", ")}`);
  if (typeof data === "string") {
    if (s.f && !FORMATS[s.f](data)) fail(`must match format "${s.f}"`);
    if (s.l) {
      // JSON Schema counts code points, not UTF-16 units.
      const n = [...data].length;
      if (n < s.l[0]) fail(`must NOT have fewer than ${s.l[0]} characters`);
      if (n > s.l[1]) fail(`must NOT have more than ${s.l[1]} characters`);
    }
  }
  if (typeof data === "number" && s.r) {
    if (data < s.r[0]) fail(`must be >= ${s.r[0]}`);
    if (data > s.r[1]) fail(`must be <= ${s.r[1]}`);
  }
  if (typeBits(data) === 16 && (s.p || s.q || s.x !== undefined)) {
    const fields = data as Readonly<Record<string, unknown>>;
    // A key whose value is `undefined` is not sent (JSON drops it): it counts as absent.
    for (const name of s.q ?? []) {
      if (fields[name] === undefined) out.push({ pointer: child(pointer, name), message: `must have required property '${name}'` });
    }
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      const sub = s.p && Object.hasOwn(s.p, name) ? s.p[name] : s.x;
      if (sub === undefined) out.push({ pointer: child(pointer, name), message: "is not a field the spec knows", unknown: true });
      else if (sub !== true) check(table, sub, value, child(pointer, name), out);
    }
  }
  if (Array.isArray(data)) {
    const items = s.i;
    if (items !== undefined) data.forEach((item, i) => check(table, items, item, child(pointer, i), out));
    if (s.u) {
      const seen = new Map<string, number>();
      data.forEach((item, i) => {
        const key = JSON.stringify(item);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else fail(`must NOT have duplicate items (items ## ${first} and ${i} are identical)`);
      });
    }
  }
  for (const sub of s.n ?? []) check(table, sub, data, pointer, out);
  if (s.a) anyOf(table, s.a, data, pointer, out);
}

/** `anyOf`: the first branch without a fault wins (its unknown-field notes are kept). */
function anyOf(table: readonly CompiledSchema[], branches: readonly number[], data: unknown, pointer: string, out: Problem[]): void {
  const messages: string[] = [];
  for (const branch of branches) {
    const found: Problem[] = [];
    check(table, branch, data, pointer, found);
    const fault = found.find((p) => !p.unknown);
    if (!fault) {
      out.push(...found);
      return;
    }
    messages.push(fault.pointer === pointer ? fault.message : `${fault.message} (at ${fault.pointer})`);
  }
  out.push({ pointer, message: [...new Set(messages)].join(", or ") });
}

/** The problems that fail a value: faults always, unknown fields only when `strict`. */
export function failing(problems: readonly Problem[], strict: boolean): Problem[] {
  return strict ? [...problems] : problems.filter((p) => !p.unknown);
}
