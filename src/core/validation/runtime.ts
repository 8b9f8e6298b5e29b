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

/** JSON text of `data` with every object's keys sorted: equal texts for deep-equal JSON values. */
function canonical(data: unknown): string {
  return JSON.stringify(data, (_key: string, value: unknown) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, (value as Readonly<Record<string, unknown>>)[key]]))
      : value,
  );
}

/** The JSON pointer of a path (RFC 6901 escaping), built only when a problem is reported. */
function pointerOf(path: readonly (string | number)[]): string {
  let pointer = "";
  for (const key of path) pointer += `/${typeof key === "number" ? key : key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  return pointer;
}

/**
 * Appends the problems of `data` against schema `index` of `table` to `out`. `base` is the pointer of
 * `data` in the request (`""`, `/query`); `path` the keys below it, kept as a stack so that the
 * common case, a valid value, builds no pointer string at all.
 */
export function check(
  table: readonly CompiledSchema[],
  index: number,
  data: unknown,
  base: string,
  out: Problem[],
  path: (string | number)[] = [],
): void {
  const s = table[index];
  if (!s) throw new Error(`validators: no schema #${index}`);
  const bits = typeBits(data);
  const types = s.t;
  if (types !== undefined && !(bits & types)) {
    // An empty mask is the `false` schema of a run-time schema: nothing is allowed.
    report(out, base, path, types ? `must be ${TYPES.filter((_, bit) => types & (1 << bit)).join(" or ")}` : "is not allowed by the schema");
    return;
  }
  // Objects and arrays are equal by content (JSON Schema), primitives by value.
  if (s.e && !s.e.includes(data) && !(bits & 48 && s.e.map(canonical).includes(canonical(data)))) report(out, base, path, `must be equal to one of the allowed values: ${s.e.map((v) => (v && typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ")}`);
  if (bits === 1) {
    const text = data as string;
    if (s.f && !FORMATS[s.f](text)) report(out, base, path, `must match format "${s.f}"`);
    if (s.l) {
      // JSON Schema counts code points, not UTF-16 units.
      const n = [...text].length;
      if (n < s.l[0]) report(out, base, path, `must NOT have fewer than ${s.l[0]} characters`);
      if (n > s.l[1]) report(out, base, path, `must NOT have more than ${s.l[1]} characters`);
    }
  } else if (bits & 2 && s.r) {
    const n = data as number;
    if (n < s.r[0]) report(out, base, path, `must be >= ${s.r[0]}`);
    if (n > s.r[1]) report(out, base, path, `must be <= ${s.r[1]}`);
  } else if (bits === 16 && (s.p || s.q || s.x !== undefined)) {
    const fields = data as Readonly<Record<string, unknown>>;
    // A key whose value is `undefined` is not sent (JSON drops it): it counts as absent.
    if (s.q) {
      for (const name of s.q) {
        if (fields[name] === undefined || !Object.hasOwn(fields, name)) report(out, base, [...path, name], `must have required property '${name}'`);
      }
    }
    for (const name in fields) {
      if (!Object.hasOwn(fields, name)) continue;
      const value = fields[name];
      if (value === undefined) continue;
      const sub = s.p && Object.hasOwn(s.p, name) ? s.p[name] : s.x;
      if (sub === true) continue;
      path.push(name);
      if (sub === undefined) out.push({ pointer: base + pointerOf(path), message: "is not a field the spec knows", unknown: true });
      else check(table, sub, value, base, out, path);
      path.pop();
    }
  } else if (bits === 32) {
    const items = data as readonly unknown[];
    if (s.i !== undefined) {
      for (let i = 0; i < items.length; i++) {
        path.push(i);
        check(table, s.i, items[i], base, out, path);
        path.pop();
      }
    }
    if (s.u) {
      const seen = new Map<string, number>();
      items.forEach((item, i) => {
        const key = canonical(item);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else report(out, base, path, `must NOT have duplicate items (items ## ${first} and ${i} are identical)`);
      });
    }
  }
  if (s.n) for (const sub of s.n) check(table, sub, data, base, out, path);
  if (s.a) anyOf(table, s.a, data, base, out, path);
}

function report(out: Problem[], base: string, path: readonly (string | number)[], message: string): void {
  out.push({ pointer: base + pointerOf(path), message });
}

/** `anyOf`: the first branch without a fault wins (its unknown-field notes are kept). */
function anyOf(
  table: readonly CompiledSchema[],
  branches: readonly number[],
  data: unknown,
  base: string,
  out: Problem[],
  path: (string | number)[],
): void {
  const faults: Problem[] = [];
  const start = out.length;
  for (const branch of branches) {
    // Each branch reports straight into `out`; a failed branch's problems are taken back out.
    check(table, branch, data, base, out, path);
    let fault: Problem | undefined;
    for (let i = start; i < out.length && !fault; i++) if (!out[i]?.unknown) fault = out[i];
    if (!fault) return;
    faults.push(fault);
    out.length = start;
  }
  const here = base + pointerOf(path);
  const messages = faults.map((fault) => (fault.pointer === here ? fault.message : `${fault.message} (at ${fault.pointer})`));
  out.push({ pointer: here, message: [...new Set(messages)].join(", or ") });
}

/** The problems that fail a value: faults always, unknown fields only when `strict`. */
export function failing(problems: readonly Problem[], strict: boolean): Problem[] {
  return strict ? [...problems] : problems.filter((p) => !p.unknown);
}
