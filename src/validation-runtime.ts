/**
 * The small runtime the generated validators (generated/validators.ts) call. The generator turns each
 * schema of the spec into a function of these helpers ahead of time: nothing here compiles a schema
 * or builds code at run time.
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

/** A generated validator: appends the problems of `data` (found at `pointer`) to `out`. */
export type Check = (data: unknown, pointer: string, out: Problem[]) => void;

type JsonType = "string" | "number" | "integer" | "boolean" | "object" | "array" | "null";

/** JSON pointer of a child (RFC 6901 escaping). */
export function child(pointer: string, key: string | number): string {
  return `${pointer}/${typeof key === "number" ? key : key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

function isType(data: unknown, type: JsonType): boolean {
  switch (type) {
    case "null":
      return data === null;
    case "array":
      return Array.isArray(data);
    case "object":
      return typeof data === "object" && data !== null && !Array.isArray(data);
    case "integer":
      return Number.isInteger(data);
    case "number":
      return typeof data === "number" && Number.isFinite(data);
    default:
      return typeof data === type;
  }
}

/** `type`: false (and a problem) when `data` is none of `types`. */
export function type(data: unknown, pointer: string, out: Problem[], types: readonly JsonType[]): boolean {
  if (types.some((t) => isType(data, t))) return true;
  out.push({ pointer, message: `must be ${types.join(" or ")}` });
  return false;
}

/** `enum`. */
export function oneOfValues(data: unknown, pointer: string, out: Problem[], values: readonly unknown[]): void {
  if (!values.includes(data)) {
    out.push({ pointer, message: `must be equal to one of the allowed values: ${values.map((v) => (v === null ? "null" : String(v))).join(", ")}` });
  }
}

/** `format`, for strings only. */
export function format(data: unknown, pointer: string, out: Problem[], name: FormatName): void {
  if (typeof data === "string" && !FORMATS[name](data)) out.push({ pointer, message: `must match format "${name}"` });
}

/** `minLength` / `maxLength`, in code points as JSON Schema counts them. */
export function length(data: unknown, pointer: string, out: Problem[], min: number, max: number): void {
  if (typeof data !== "string") return;
  const n = [...data].length;
  if (n < min) out.push({ pointer, message: `must NOT have fewer than ${min} characters` });
  if (n > max) out.push({ pointer, message: `must NOT have more than ${max} characters` });
}

/** `minimum` / `maximum`. */
export function range(data: unknown, pointer: string, out: Problem[], min: number, max: number): void {
  if (typeof data !== "number") return;
  if (data < min) out.push({ pointer, message: `must be >= ${min}` });
  if (data > max) out.push({ pointer, message: `must be <= ${max}` });
}

/**
 * `properties`, `required` and `additionalProperties` of an object. `extra` is the check of other
 * fields: `true` allows them silently, `undefined` notes them as unknown (see `Problem.unknown`).
 */
export function object(
  data: unknown,
  pointer: string,
  out: Problem[],
  properties: Readonly<Record<string, Check>>,
  required: readonly string[],
  extra: Check | true | undefined,
): void {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return;
  // A key whose value is `undefined` is not sent (JSON drops it): it counts as absent.
  const fields: Readonly<Record<string, unknown>> = data as Readonly<Record<string, unknown>>;
  for (const name of required) {
    if (fields[name] === undefined) out.push({ pointer: child(pointer, name), message: `must have required property '${name}'` });
  }
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const check = Object.hasOwn(properties, name) ? properties[name] : extra;
    if (check === undefined) out.push({ pointer: child(pointer, name), message: "is not a field the spec knows", unknown: true });
    else if (check !== true) check(value, child(pointer, name), out);
  }
}

/** `items` and `uniqueItems` of an array. */
export function array(data: unknown, pointer: string, out: Problem[], items: Check | undefined, unique: boolean): void {
  if (!Array.isArray(data)) return;
  if (items) data.forEach((item, i) => items(item, child(pointer, i), out));
  if (unique) {
    const seen = new Map<string, number>();
    data.forEach((item, i) => {
      const key = JSON.stringify(item);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else out.push({ pointer, message: `must NOT have duplicate items (items ## ${first} and ${i} are identical)` });
    });
  }
}

function hasFault(problems: readonly Problem[]): boolean {
  return problems.some((p) => !p.unknown);
}

/** `anyOf`: the first branch without a fault wins (its unknown-field notes are kept). */
export function anyOf(data: unknown, pointer: string, out: Problem[], branches: readonly Check[]): void {
  const messages: string[] = [];
  for (const branch of branches) {
    const found: Problem[] = [];
    branch(data, pointer, found);
    if (!hasFault(found)) {
      out.push(...found);
      return;
    }
    const own = found.find((p) => !p.unknown);
    if (own) messages.push(own.pointer === pointer ? own.message : `${own.message} (at ${own.pointer})`);
  }
  out.push({ pointer, message: [...new Set(messages)].join(", or ") });
}

/** The problems that fail a value: faults always, unknown fields only when `strict`. */
export function failing(problems: readonly Problem[], strict: boolean): Problem[] {
  return strict ? [...problems] : problems.filter((p) => !p.unknown);
}
