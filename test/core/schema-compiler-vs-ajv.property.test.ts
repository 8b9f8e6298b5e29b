/**
 * Differential test: a JSON Schema compiled at run time (compileSchema, src/core/validation/schema-compiler.ts) and
 * walked by `check` must say valid or invalid exactly when ajv 8 does, on fast-check generated
 * (schema, value) pairs over the keywords the runtime supports: type (and arrays of types), enum,
 * const, format, properties, required, additionalProperties, items, uniqueItems, anyOf, allOf,
 * minLength, maxLength, minimum, maximum, boolean schemas and local `$ref`s (definitions, $defs,
 * escaped pointers, recursion through `#`). Values are generated from their schema, so most are valid
 * or nearly so, with defects sprinkled in (a wrong type, a missing required field, a bound ± 1).
 *
 * ajv is set up for the semantics the runtime implements: strict off (unknown formats are ignored by
 * both), the formats of src/core/validation/formats.ts, code-point string lengths (ajv's default `unicode`) and
 * `ownProperties` (an inherited `constructor` is no field).
 *
 * DIFFERENTIAL_RUNS=<n> (default 1,000; `npm run test:differential` runs 10,000) and
 * DIFFERENTIAL_SEED=<n> explore further.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { FORMATS } from "../../src/core/validation/formats.js";
import { compileSchema } from "../../src/core/validation/schema-compiler.js";
import { check, failing, type Problem } from "../../src/core/validation/runtime.js";
import { integerFromEnvironment } from "../support/prism.js";

const RUNS = integerFromEnvironment("DIFFERENTIAL_RUNS", 1_000);
const SEED = integerFromEnvironment("DIFFERENTIAL_SEED", 20_240_611);

/** Deep equality of JSON values: own keys only, any key order. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

// ajv is CommonJS; required and narrowed to the members used.
const require = createRequire(import.meta.url);
/**
 * ajv's enum, const and uniqueItems use fast-deep-equal, which reads `constructor`, `valueOf` and
 * `toString` off the values: two objects with an own `constructor` array are never equal to it, and
 * `{"toString": false}` makes it throw. Those are field names like any other in JSON, so ajv is given
 * plain structural equality instead (before any schema is compiled: ajv looks it up per compile).
 */
const equalModule = require("ajv/dist/runtime/equal") as { default: unknown };
equalModule.default = Object.assign(jsonEqual, { code: 'require("ajv/dist/runtime/equal").default' });

interface AjvInstance {
  compile(schema: unknown): (data: unknown) => boolean;
  removeSchema(schema: unknown): unknown;
}
type AjvClass = new (options: Record<string, unknown>) => AjvInstance;
const ajvModule: unknown = require("ajv");
const Ajv = (ajvModule as { default: AjvClass }).default;
const ajv = new Ajv({ strict: false, ownProperties: true, logger: false, formats: { ...FORMATS } });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = boolean | { [key: string]: Json };

// ---------------------------------------------------------------------------------------------
// Schemas.
// ---------------------------------------------------------------------------------------------

/** Field names, the awkward ones included: they must stay plain names on both sides. */
const NAMES = ["a", "b", "c", "model", "__proto__", "constructor", "toString", "a/b", "x~y", "é"];
const name = fc.constantFrom(...NAMES);
/**
 * Names under `properties`: all but `__proto__`, which ajv drops from `properties` on purpose
 * (ajv-validator/ajv#1242, "ignore proto properties") while the runtime keeps it as a plain field
 * name; test/core/schema-compiler.test.ts covers that case. `__proto__` stays in `required` and data.
 */
const propertyName = fc.constantFrom(...NAMES.filter((n) => n !== "__proto__"));
const TYPE_NAMES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
const FORMAT_NAMES = ["uuid", "uri", "date-time", "email"] as const;
const REFS = ["#/definitions/d", "#/definitions/a~1b", "#/$defs/p%20q", "#/$defs/t~0"];

const smallNumber = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.double({ min: -20, max: 20, noNaN: true }));
const text = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
  fc.constantFrom("😀", "a😀", "\ud83d", "é", ""),
);
const scalar: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.boolean(), smallNumber, text);
const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(name, scalar, { maxKeys: 3, noNullPrototype: true }) },
);
/** An enum or const member: mostly scalars, sometimes arrays and objects (compared by content). */
const member: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom("a", "b")), { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: 2 }), { maxKeys: 3, noNullPrototype: true }) },
);

/** JSON text with object keys sorted: ajv rejects an enum with deep-equal members. */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key: string, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((key) => [key, Object.getOwnPropertyDescriptor(v, key)?.value])) : v,
  );
}

/** Adds each keyword whose arbitrary produced a value. */
function keywords(parts: Record<string, fc.Arbitrary<Json>>): fc.Arbitrary<Record<string, Json>> {
  return fc.record(parts, { requiredKeys: [] }).map((record) => {
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
    return out;
  });
}

const bound = fc.integer({ min: 0, max: 6 });
const stringKeywords = keywords({
  minLength: bound,
  maxLength: bound,
  format: fc.constantFrom(...FORMAT_NAMES),
  enum: fc.uniqueArray(text, { minLength: 1, maxLength: 3 }),
});
const numberKeywords = keywords({ minimum: smallNumber, maximum: smallNumber });
const typeKeyword: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(...TYPE_NAMES),
  fc.uniqueArray(fc.constantFrom(...TYPE_NAMES), { minLength: 1, maxLength: 3 }),
);

/**
 * `depth` limits nesting; `descended`: under a field or item, where a `$ref` to the root cannot loop;
 * `refs`: `$ref`s to the definitions allowed (not inside the definitions, which could loop).
 */
function schemaOf(depth: number, descended: boolean, refs: boolean): fc.Arbitrary<Schema> {
  const leaves: fc.Arbitrary<Schema>[] = [
    fc.boolean(),
    stringKeywords.map((k) => ({ type: "string", ...k })),
    numberKeywords.chain((k) => fc.constantFrom("number", "integer").map((type) => ({ type, ...k }))),
    fc.record({ type: typeKeyword }),
    fc.tuple(typeKeyword, stringKeywords, numberKeywords).map(([type, s, n]) => ({ type, ...s, ...n })),
    fc.record({ enum: fc.uniqueArray(member, { minLength: 1, maxLength: 4, selector: sortedJson }) }),
    fc.record({ const: member }),
    fc.constant({ description: "annotations only", title: "t", default: 1, examples: [1], "x-merge": true }),
  ];
  if (refs) leaves.push(fc.constantFrom(...REFS).map((ref) => ({ $ref: ref })));
  if (descended) leaves.push(fc.constant({ $ref: "#" }));
  if (depth <= 0) return fc.oneof(...leaves);
  const sub = (under: boolean) => schemaOf(depth - 1, descended || under, refs);
  const object = fc
    .record(
      {
        type: fc.constantFrom("object", ["object", "null"]),
        properties: fc.dictionary(propertyName, sub(true), { maxKeys: 3, noNullPrototype: true }),
        // Inherited names (`constructor`, `__proto__`) often: an object must not seem to have them.
        required: fc.uniqueArray(fc.oneof(name, fc.constantFrom("constructor", "__proto__")), { maxLength: 3 }),
        additionalProperties: fc.oneof(fc.boolean(), sub(true)),
      },
      { requiredKeys: ["properties"] },
    )
    .map(strip);
  const array = fc
    .record(
      { type: fc.constant("array"), items: sub(true), uniqueItems: fc.boolean(), maxLength: bound },
      { requiredKeys: [] },
    )
    .map(strip);
  const anyOf = fc.array(sub(false), { minLength: 1, maxLength: 3 }).map((branches) => ({ anyOf: branches }));
  const allOf = fc.array(sub(false), { minLength: 1, maxLength: 2 }).map((parts) => ({ allOf: parts }));
  const refWithSiblings = fc.tuple(fc.constantFrom(...REFS), numberKeywords).map(([ref, k]) => ({ $ref: ref, ...k }));
  return fc.oneof(
    { weight: 4, arbitrary: fc.oneof(...leaves) },
    { weight: 4, arbitrary: object },
    { weight: 2, arbitrary: array },
    { weight: 1, arbitrary: anyOf },
    { weight: 1, arbitrary: allOf },
    ...(refs ? [{ weight: 1, arbitrary: refWithSiblings }] : []),
  );
}

function strip<T extends Record<string, unknown>>(record: T): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value as Json;
  return out;
}

/** A root schema with definitions for the `$ref`s (which may refer to the root again, under a field). */
const rootSchema: fc.Arbitrary<Schema> = fc
  .record({
    body: schemaOf(3, false, true),
    d: schemaOf(2, false, false),
    ab: schemaOf(1, false, false),
    pq: schemaOf(1, false, false),
    t: schemaOf(0, false, false),
  })
  .map(({ body, d, ab, pq, t }) => {
    const definitions = { definitions: { d, "a/b": ab }, $defs: { "p q": pq, "t~": t } } as { [key: string]: Json };
    // Through JSON, as a schema fetched from the network: `__proto__` becomes an own field.
    return JSON.parse(JSON.stringify(typeof body === "boolean" ? { allOf: [body], ...definitions } : { ...body, ...definitions })) as Schema;
  });

// ---------------------------------------------------------------------------------------------
// Values from a schema: valid as far as the generator can tell, with defects mixed in.
// ---------------------------------------------------------------------------------------------

const VALID_FORMATS: Record<string, readonly string[]> = {
  uuid: ["123e4567-e89b-12d3-a456-426614174000", "urn:uuid:123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-42661417400"],
  uri: ["https://example.com/a?b=1#c", "mailto:x@example.com", "urn:isbn:0451450523", "relative/path", "https://exa mple.com"],
  "date-time": ["2024-02-29T12:00:00Z", "2024-01-01 10:00:00+01:00", "2023-02-29T12:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T10:00:00"],
  email: ["a@example.com", "not an email"],
};

/** The same JSON value with every object's keys in reverse order: deep-equal, not the same text. */
function reordered(value: Json): Json {
  if (Array.isArray(value)) return value.map(reordered);
  if (!isRecord(value)) return value;
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(value).reverse()) {
    Object.defineProperty(out, key, { value: reordered(value[key] ?? null), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isRecord(value: unknown): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function own(schema: { [key: string]: Json }, key: string): Json | undefined {
  return Object.hasOwn(schema, key) ? schema[key] : undefined;
}

function resolve(root: Schema, ref: string): Schema {
  let node: unknown = root;
  for (const token of decodeURIComponent(ref.slice(1)).split("/").slice(1)) {
    const key = token.replace(/~1/g, "/").replace(/~0/g, "~");
    node = isRecord(node) || Array.isArray(node) ? Object.getOwnPropertyDescriptor(node, key)?.value : undefined;
  }
  return typeof node === "boolean" || isRecord(node) ? node : true;
}

function numberNear(schema: { [key: string]: Json }, integer: boolean): fc.Arbitrary<Json> {
  const edges: number[] = [];
  for (const key of ["minimum", "maximum"]) {
    const at = own(schema, key);
    if (typeof at === "number") edges.push(at, at - 1, at + 1, Math.ceil(at), Math.floor(at), at + 0.5);
  }
  const base = integer ? fc.integer({ min: -25, max: 25 }) : smallNumber;
  return edges.length > 0 ? fc.oneof(base, fc.constantFrom(...edges)) : base;
}

function stringNear(schema: { [key: string]: Json }): fc.Arbitrary<Json> {
  const format = own(schema, "format");
  const min = own(schema, "minLength");
  const max = own(schema, "maxLength");
  const lengths = [min, max].filter((n): n is number => typeof n === "number").flatMap((n) => [n - 1, n, n + 1]).filter((n) => n >= 0);
  const options: fc.Arbitrary<Json>[] = [text];
  if (typeof format === "string" && VALID_FORMATS[format]) options.push(fc.constantFrom(...(VALID_FORMATS[format] ?? [])));
  if (lengths.length > 0) {
    options.push(fc.tuple(fc.constantFrom(...lengths), fc.constantFrom("x", "😀", "\udc00")).map(([n, unit]) => unit.repeat(n)));
  }
  return fc.oneof(...options);
}

function valueOf(schema: Schema, root: Schema, depth: number): fc.Arbitrary<Json> {
  if (typeof schema === "boolean" || depth > 5) return anyJson;
  const generated = near(schema, root, depth);
  // Now and then a defect in place of the value.
  return fc.oneof({ weight: 9, arbitrary: generated }, { weight: 1, arbitrary: anyJson });
}

function near(schema: { [key: string]: Json }, root: Schema, depth: number): fc.Arbitrary<Json> {
  const ref = own(schema, "$ref");
  if (typeof ref === "string") return valueOf(resolve(root, ref), root, depth + 1);
  const constant = own(schema, "const");
  // Members of an enum or const, now and then with their keys in another order (still equal).
  if (constant !== undefined) return fc.constantFrom(constant, reordered(constant));
  const members = own(schema, "enum");
  if (Array.isArray(members) && members.length > 0) return fc.constantFrom(...members, ...members.map(reordered));
  const anyOf = own(schema, "anyOf");
  if (Array.isArray(anyOf)) return fc.oneof(...anyOf.map((branch) => valueOf(branch as Schema, root, depth + 1)));
  const allOf = own(schema, "allOf");
  if (Array.isArray(allOf)) {
    // Objects from each part, merged; otherwise the first part's value.
    return fc.tuple(...allOf.map((part) => valueOf(part as Schema, root, depth + 1))).map((values) =>
      values.every(isRecord) ? (Object.assign({}, ...values) as Json) : (values[0] ?? null),
    );
  }
  const declared = own(schema, "type");
  const types: string[] = Array.isArray(declared) ? declared.filter((t): t is string => typeof t === "string") : typeof declared === "string" ? [declared] : [];
  if (types.length === 0) {
    if (own(schema, "properties") !== undefined || own(schema, "required") !== undefined) types.push("object");
    else if (own(schema, "items") !== undefined) types.push("array");
    else if (own(schema, "minLength") !== undefined || own(schema, "format") !== undefined) types.push("string");
    else if (own(schema, "minimum") !== undefined || own(schema, "maximum") !== undefined) types.push("number");
    else return anyJson;
  }
  return fc.oneof(...types.map((type) => ofType(type, schema, root, depth)));
}

function ofType(type: string, schema: { [key: string]: Json }, root: Schema, depth: number): fc.Arbitrary<Json> {
  switch (type) {
    case "string":
      return stringNear(schema);
    case "number":
    case "integer":
      return numberNear(schema, type === "integer");
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const items = own(schema, "items");
      const item = items === undefined ? anyJson : valueOf(items as Schema, root, depth + 1);
      // Duplicates on purpose, now and then, for uniqueItems.
      return fc.array(item, { maxLength: 4 }).chain((list) =>
        fc.boolean().map((duplicate) => (duplicate && list.length > 0 ? [...list, reordered(list[0] ?? null)] : list)),
      );
    }
    default: {
      const properties = own(schema, "properties");
      const required = own(schema, "required");
      const extra = own(schema, "additionalProperties");
      const fields = new Map<string, fc.Arbitrary<Json>>();
      if (isRecord(properties)) for (const key of Object.keys(properties)) fields.set(key, valueOf(properties[key] as Schema, root, depth + 1));
      if (Array.isArray(required)) for (const key of required) if (typeof key === "string" && !fields.has(key)) fields.set(key, anyJson);
      const entries = [...fields].map(([key, arb]) =>
        fc.tuple(fc.constant(key), arb, fc.integer({ min: 0, max: 5 })),
      );
      const extraValue = extra === undefined || typeof extra === "boolean" ? anyJson : valueOf(extra as Schema, root, depth + 1);
      return fc.tuple(fc.tuple(...entries), fc.option(fc.tuple(name, extraValue), { freq: 3 })).map(([chosen, more]) => {
        const out: { [key: string]: Json } = {};
        // Each field is left out one time in six (a required one too).
        for (const [key, value, dice] of chosen) if (dice > 0) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        if (more) Object.defineProperty(out, more[0], { value: more[1], enumerable: true, writable: true, configurable: true });
        return out;
      });
    }
  }
}

const pair = rootSchema.chain((schema) =>
  valueOf(schema, schema, 0).map((value) => {
    // Through JSON, as a request body is: own `__proto__` fields, no -0.
    const data: unknown = JSON.parse(JSON.stringify(value));
    return { schema, data };
  }),
);

// ---------------------------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------------------------

function runtimeSays(schema: Schema, data: unknown): boolean {
  const compiled = compileSchema(schema);
  const problems: Problem[] = [];
  check(compiled.table, 0, data, "", problems);
  return failing(problems, false).length === 0;
}

function ajvSays(schema: Schema, data: unknown): boolean {
  const validate = ajv.compile(schema);
  const valid = validate(data);
  ajv.removeSchema(schema);
  return valid;
}

describe("compileSchema + check agree with ajv", () => {
  it(`on ${RUNS} generated (schema, value) pairs (seed ${SEED})`, () => {
    let valid = 0;
    let ignoredFormats = 0;
    const started = performance.now();
    fc.assert(
      fc.property(pair, ({ schema, data }) => {
        const ours = runtimeSays(schema, data);
        const theirs = ajvSays(schema, data);
        if (ours !== theirs) {
          throw new Error(`runtime says ${ours ? "valid" : "invalid"}, ajv ${theirs ? "valid" : "invalid"}\nschema ${JSON.stringify(schema)}\nvalue ${JSON.stringify(data)}`);
        }
        if (ours) valid++;
        if (compileSchema(schema).ignored.length > 0) ignoredFormats++;
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `differential: ${RUNS} pairs, seed ${SEED}, 0 disagreements, ${valid} valid / ${RUNS - valid} invalid, ${ignoredFormats} with an ignored format, ${seconds.toFixed(1)} s`,
    );
    // The generator must exercise both answers, or the agreement says little.
    expect(valid).toBeGreaterThan(RUNS * 0.2);
    expect(RUNS - valid).toBeGreaterThan(RUNS * 0.2);
  }, 600_000);
});
