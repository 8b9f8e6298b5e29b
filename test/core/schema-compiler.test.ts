/**
 * compileSchema (src/core/validation/schema-compiler.ts): JSON Schemas received at run time, compiled into the table
 * `check` walks. Each keyword, the ignored list, boolean schemas, `$ref`s, hostile field names, bad
 * input, and a Merge meta `request_schema`. test/core/schema-compiler-vs-ajv.property.test.ts compares
 * valid-or-not with ajv on generated schemas.
 */
import { FORMATS } from "../../src/core/validation/formats.js";
import { createStrictCompiler } from "../../scripts/compile-validators.js";
import { compileSchema, FORMAT_NAMES, TYPES as COMPILER_TYPES } from "../../src/core/validation/schema-compiler.js";
import { check, failing, TYPES, type Problem } from "../../src/core/validation/runtime.js";

/** The faults of `data` (unknown fields do not count, as in JSON Schema). */
function faults(schema: unknown, data: unknown, base = ""): Problem[] {
  const { table } = compileSchema(schema);
  const problems: Problem[] = [];
  check(table, 0, data, base, problems);
  return failing(problems, false);
}

const valid = (schema: unknown, data: unknown): boolean => faults(schema, data).length === 0;

/** A schema as it arrives: parsed from JSON, so `__proto__` is an own field. */
const parsed = (json: string): unknown => JSON.parse(json);

describe("compileSchema: keywords", () => {
  it("type, one or several; integer is a number", () => {
    expect(valid({ type: "string" }, "x")).toBe(true);
    expect(faults({ type: "string" }, 1)).toEqual([{ pointer: "", message: "must be string" }]);
    expect(valid({ type: ["string", "null"] }, null)).toBe(true);
    expect(valid({ type: ["string", "null"] }, 0)).toBe(false);
    expect(valid({ type: "integer" }, 2)).toBe(true);
    expect(valid({ type: "integer" }, 2.5)).toBe(false);
    expect(valid({ type: "number" }, 2)).toBe(true);
    expect(valid({ type: "array" }, {})).toBe(false);
    expect(valid({ type: "object" }, [])).toBe(false);
  });

  it("enum and const, objects and arrays compared by content", () => {
    expect(valid({ enum: ["OUTBOUND"] }, "OUTBOUND")).toBe(true);
    expect(faults({ enum: ["OUTBOUND"] }, "INBOUND")).toEqual([{ pointer: "", message: "must be equal to one of the allowed values: OUTBOUND" }]);
    expect(valid({ const: 3 }, 3)).toBe(true);
    expect(valid({ const: 3 }, "3")).toBe(false);
    expect(valid({ const: { a: [1, { b: 2 }], c: null } }, { c: null, a: [1, { b: 2 }] })).toBe(true);
    expect(valid({ const: { a: [1, { b: 2 }] } }, { a: [1, { b: 3 }] })).toBe(false);
    expect(valid({ const: [1, 2] }, [2, 1])).toBe(false);
    expect(valid({ enum: [[], {}] }, {})).toBe(true);
    expect(valid({ enum: [[]] }, {})).toBe(false);
    expect(faults({ const: { a: 1 } }, { a: 2 })[0]?.message).toBe('must be equal to one of the allowed values: {"a":1}');
    // enum and const together: both hold.
    expect(valid({ enum: [1, 2], const: 2 }, 2)).toBe(true);
    expect(valid({ enum: [1, 2], const: 2 }, 1)).toBe(false);
  });

  it("its type and format names are the runtime's (kept apart so that it imports nothing of the core)", () => {
    expect(COMPILER_TYPES).toEqual(TYPES);
    expect([...FORMAT_NAMES].sort()).toEqual(Object.keys(FORMATS).sort());
  });

  it("format: the formats of src/core/validation/formats.ts; strings only", () => {
    expect(valid({ format: "uuid" }, "123e4567-e89b-12d3-a456-426614174000")).toBe(true);
    expect(faults({ format: "uuid" }, "nope")).toEqual([{ pointer: "", message: 'must match format "uuid"' }]);
    expect(valid({ format: "date-time" }, "2024-02-29T12:00:00Z")).toBe(true);
    expect(valid({ format: "date-time" }, "2023-02-29T12:00:00Z")).toBe(false);
    expect(valid({ format: "uri" }, "https://example.com/x")).toBe(true);
    expect(valid({ format: "uuid" }, 12)).toBe(true);
  });

  it("minLength and maxLength count code points", () => {
    const schema = { minLength: 2, maxLength: 3 };
    expect(valid(schema, "ab")).toBe(true);
    expect(valid(schema, "😀😀😀")).toBe(true);
    expect(faults(schema, "a")).toEqual([{ pointer: "", message: "must NOT have fewer than 2 characters" }]);
    expect(faults(schema, "abcd")).toEqual([{ pointer: "", message: "must NOT have more than 3 characters" }]);
    expect(valid(schema, 12345)).toBe(true);
  });

  it("minimum and maximum", () => {
    expect(valid({ minimum: 1, maximum: 2.5 }, 2.5)).toBe(true);
    expect(faults({ minimum: 1 }, 0.5)).toEqual([{ pointer: "", message: "must be >= 1" }]);
    expect(faults({ maximum: -1 }, 0)).toEqual([{ pointer: "", message: "must be <= -1" }]);
    expect(valid({ minimum: 1 }, "0")).toBe(true);
  });

  it("properties, required, and other fields allowed unless additionalProperties says otherwise", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a", "b"] };
    expect(faults(schema, { a: 1, b: 0, c: 2 })).toEqual([{ pointer: "/a", message: "must be string" }]);
    expect(faults(schema, { a: "x" })).toEqual([{ pointer: "/b", message: "must have required property 'b'" }]);
    expect(valid({ ...schema, additionalProperties: { type: "number" } }, { a: "x", b: 1, c: 2 })).toBe(true);
    expect(faults({ ...schema, additionalProperties: { type: "number" } }, { a: "x", b: "y" })).toEqual([{ pointer: "/b", message: "must be number" }]);
    expect(faults({ ...schema, additionalProperties: false }, { a: "x", b: 1 })).toEqual([{ pointer: "/b", message: "is not allowed by the schema" }]);
    expect(valid({ properties: { b: true }, required: ["a", "b"], additionalProperties: false }, { b: 1 })).toBe(false);
    expect(valid({ ...schema, additionalProperties: true }, { a: "x", b: 1, c: 2 })).toBe(true);
  });

  it("items and uniqueItems (content equality, any key order)", () => {
    expect(faults({ items: { type: "integer" } }, [1, "2"])).toEqual([{ pointer: "/1", message: "must be integer" }]);
    expect(valid({ uniqueItems: true }, [1, "1", [1], { a: 1 }])).toBe(true);
    expect(faults({ uniqueItems: true }, [{ a: 1, b: 2 }, { b: 2, a: 1 }])).toEqual([
      { pointer: "", message: "must NOT have duplicate items (items ## 0 and 1 are identical)" },
    ]);
    expect(valid({ uniqueItems: false }, [1, 1])).toBe(true);
  });

  it("anyOf and allOf", () => {
    const anyOf = { anyOf: [{ type: "string", maxLength: 1 }, { type: "null" }] };
    expect(valid(anyOf, null)).toBe(true);
    expect(valid(anyOf, "a")).toBe(true);
    expect(faults(anyOf, "ab")).toEqual([{ pointer: "", message: "must NOT have more than 1 characters, or must be null" }]);
    const allOf = { allOf: [{ type: "string" }, { minLength: 2 }] };
    expect(valid(allOf, "ab")).toBe(true);
    expect(valid(allOf, "a")).toBe(false);
  });

  it("boolean schemas: true admits everything, false nothing, with a clear message", () => {
    expect(valid(true, { anything: [1] })).toBe(true);
    expect(faults(false, 1)).toEqual([{ pointer: "", message: "is not allowed by the schema" }]);
    expect(faults({ properties: { model: false } }, { model: null })).toEqual([{ pointer: "/model", message: "is not allowed by the schema" }]);
    expect(valid({ properties: { model: false } }, {})).toBe(true);
    expect(valid({ items: false }, [])).toBe(true);
    expect(valid({ items: false }, [0])).toBe(false);
  });

  it("annotations are neither checked nor listed as ignored", () => {
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      $id: "https://merge.dev/meta",
      $comment: "c",
      title: "t",
      description: "d",
      default: "x",
      examples: ["x"],
      example: "x",
      readOnly: false,
      writeOnly: false,
      deprecated: true,
      "x-merge-field": "subject",
      type: "string",
    };
    expect(compileSchema(schema).ignored).toEqual([]);
    expect(valid(schema, "anything")).toBe(true);
    expect(valid(schema, 1)).toBe(false);
  });
});

describe("compileSchema: ignored keywords", () => {
  it("are listed once each, sorted, and do not constrain", () => {
    const schema = {
      type: "object",
      pattern: "^a",
      not: { type: "null" },
      properties: {
        a: { type: "string", pattern: "^b", format: "email" },
        b: { oneOf: [{ type: "string" }], format: "email" },
        c: { type: "array", minItems: 2, maxItems: 3, contains: { const: 1 } },
        d: { exclusiveMinimum: 3, multipleOf: 2, if: { type: "string" }, then: false },
      },
      dependencies: { a: ["b"] },
      propertyNames: { maxLength: 1 },
    };
    const { ignored } = compileSchema(schema);
    expect(ignored).toEqual([
      "contains",
      "dependencies",
      "exclusiveMinimum",
      "format:email",
      "if",
      "maxItems",
      "minItems",
      "multipleOf",
      "not",
      "oneOf",
      "pattern",
      "propertyNames",
      "then",
    ]);
    expect(valid(schema, { a: "zzz", b: 5, c: [], d: 1, longName: 1 })).toBe(true);
    expect(valid(schema, { a: 1 })).toBe(false);
  });

  it("absurd values are ignored and listed, never thrown from check", () => {
    const schema = {
      type: "object",
      properties: {
        a: { type: "foo" },
        b: { type: [] },
        c: { maxLength: -1, minLength: 1.5 },
        d: { minimum: "3", maximum: null },
        e: { uniqueItems: "yes", items: [{ type: "string" }] },
        f: { enum: "OUTBOUND", format: 7 },
        g: { anyOf: [], allOf: {} },
        h: { required: "a", properties: [] },
      },
      required: [1],
    };
    const { ignored } = compileSchema(schema);
    expect(ignored).toEqual(["allOf", "anyOf", "enum", "format:7", "items", "maxLength", "maximum", "minLength", "minimum", "properties", "required", "type", "uniqueItems"]);
    const data = { a: 1, b: 2, c: "", d: 1, e: ["x", "x"], f: "INBOUND", g: null, h: {} };
    expect(faults(schema, data)).toEqual([]);
    // The valid keywords beside them still hold.
    expect(valid({ type: "foo", minLength: 2 }, "a")).toBe(false);
  });
});

describe("compileSchema: $ref", () => {
  it("resolves #/definitions, #/$defs and escaped pointers, with sibling keywords applied", () => {
    const schema = {
      definitions: { id: { type: "string", format: "uuid" }, "a/b": { type: "integer" }, "t~": { type: "null" } },
      $defs: { "p q": { type: "boolean" } },
      properties: {
        owner: { $ref: "#/definitions/id" },
        count: { $ref: "#/definitions/a~1b", minimum: 1 },
        none: { $ref: "#/definitions/t~0" },
        flag: { $ref: "#/$defs/p%20q" },
      },
    };
    expect(valid(schema, { owner: "123e4567-e89b-12d3-a456-426614174000", count: 2, none: null, flag: true })).toBe(true);
    expect(faults(schema, { owner: "x", count: 0, none: 1, flag: "no" }).map((p) => p.pointer)).toEqual(["/owner", "/count", "/none", "/flag"]);
    expect(compileSchema(schema).ignored).toEqual([]);
  });

  it("a definition used twice is compiled once", () => {
    const id = { type: "string", format: "uuid" };
    const { table } = compileSchema({ definitions: { id }, properties: { a: { $ref: "#/definitions/id" }, b: { $ref: "#/definitions/id" } } });
    expect(table.filter((entry) => entry.f === "uuid")).toHaveLength(1);
  });

  it("recursive refs terminate: a tree of nodes, through # and through a definition", () => {
    const tree = { type: "object", required: ["name"], properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#" } } } };
    const deep = { name: "a", children: [{ name: "b", children: [{ name: "c", children: [] }] }] };
    expect(valid(tree, deep)).toBe(true);
    expect(faults(tree, { name: "a", children: [{ name: "b", children: [{ children: [] }] }] })).toEqual([
      { pointer: "/children/0/children/0/name", message: "must have required property 'name'" },
    ]);
    const viaDefinition = { $ref: "#/definitions/node", definitions: { node: { properties: { next: { $ref: "#/definitions/node" }, v: { type: "integer" } } } } };
    expect(valid(viaDefinition, { next: { next: { v: 1 } } })).toBe(true);
    expect(faults(viaDefinition, { next: { next: { v: "1" } } })).toEqual([{ pointer: "/next/next/v", message: "must be integer" }]);
  });

  it("a ref cycle that never descends into a field or item is a TypeError, not an endless check", () => {
    expect(() => compileSchema({ $ref: "#" })).toThrow(TypeError);
    expect(() => compileSchema({ allOf: [{ $ref: "#" }] })).toThrow(/\$ref cycle/);
    expect(() => compileSchema({ anyOf: [{ type: "string" }, { $ref: "#/definitions/a" }], definitions: { a: { allOf: [{ $ref: "#" }] } } })).toThrow(/\$ref cycle/);
  });

  it("a ref that cannot be resolved is a TypeError naming it", () => {
    expect(() => compileSchema({ $ref: "#/definitions/missing" })).toThrow(new TypeError('compileSchema: cannot resolve $ref "#/definitions/missing"'));
    expect(() => compileSchema({ $ref: "#/definitions/x/y", definitions: { x: null } })).toThrow(/cannot resolve/);
    expect(() => compileSchema({ $ref: "https://example.com/schema.json" })).toThrow(/cannot resolve \$ref "https:\/\/example.com\/schema.json"/);
    expect(() => compileSchema({ $ref: "#anchor" })).toThrow(TypeError);
    expect(() => compileSchema({ $ref: "#/definitions/%E0%A4%A" })).toThrow(TypeError);
    expect(() => compileSchema({ $ref: 5 })).toThrow(/cannot resolve \$ref 5/);
    // Inherited members are no definitions.
    expect(() => compileSchema({ $ref: "#/definitions/constructor", definitions: {} })).toThrow(TypeError);
    expect(() => compileSchema({ $ref: "#/definitions/x", definitions: { x: 3 } })).toThrow(/is not a schema \(number\)/);
  });
});

describe("compileSchema: hostile input", () => {
  it("__proto__, constructor and toString are plain field names, in properties and required", () => {
    const schema = parsed(
      '{"type":"object","properties":{"__proto__":{"type":"object","required":["polluted"]},"constructor":{"type":"string"},"toString":{"type":"number"}},"required":["constructor"]}',
    );
    expect(valid(schema, parsed('{"constructor":"x","__proto__":{"polluted":1},"toString":1}'))).toBe(true);
    expect(faults(schema, parsed('{"constructor":"x","__proto__":{}}'))).toEqual([
      { pointer: "/__proto__/polluted", message: "must have required property 'polluted'" },
    ]);
    // An inherited `constructor` is not a field.
    expect(faults(schema, {})).toEqual([{ pointer: "/constructor", message: "must have required property 'constructor'" }]);
    expect(faults(schema, parsed('{"constructor":"x","toString":"1"}'))).toEqual([{ pointer: "/toString", message: "must be number" }]);
    expect(valid({ required: ["__proto__"] }, {})).toBe(false);
    expect(valid({ required: ["__proto__"] }, parsed('{"__proto__":null}'))).toBe(true);
  });

  it("compiling and checking pollute no prototype", () => {
    const schema = parsed(
      '{"properties":{"__proto__":{"properties":{"polluted":{"const":true}}},"constructor":{"properties":{"prototype":{"properties":{"polluted":true}}}}},"additionalProperties":{"$ref":"#/properties/__proto__"}}',
    );
    const { table } = compileSchema(schema);
    const fields = table[0]?.p;
    expect(fields && Object.getPrototypeOf(fields)).toBeNull();
    expect(fields && Object.keys(fields).sort()).toEqual(["__proto__", "constructor"]);
    expect(faults(schema, parsed('{"__proto__":{"polluted":false},"x":{"polluted":false}}')).map((p) => p.pointer)).toEqual(["/__proto__/polluted", "/x/polluted"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("a schema that is not an object or boolean is a TypeError", () => {
    for (const bad of [null, undefined, 1, "string", [], [{ type: "string" }]]) {
      expect(() => compileSchema(bad)).toThrow(TypeError);
    }
    expect(() => compileSchema(null)).toThrow("compileSchema: the schema is not a schema (null)");
    expect(() => compileSchema({ properties: { model: { properties: { subject: "string" } } } })).toThrow(
      new TypeError("compileSchema: /properties/model/properties/subject is not a schema (string)"),
    );
    expect(() => compileSchema({ items: null })).toThrow(/\/items is not a schema \(null\)/);
    expect(() => compileSchema({ additionalProperties: 0 })).toThrow(/\/additionalProperties is not a schema/);
    expect(() => compileSchema({ anyOf: [1] })).toThrow(/\/anyOf\/0 is not a schema/);
  });
});

describe("compileSchema: a Merge meta request_schema", () => {
  // The shape GET /crm/v1/engagements/meta/post returns: a CRM that requires a subject and a start
  // time, records outbound activities only, and needs the owner's email as a linked-account parameter.
  const requestSchema = {
    type: "object",
    properties: {
      model: {
        type: "object",
        properties: {
          owner: { type: "string", format: "uuid", description: "The CRM user the activity belongs to." },
          subject: { type: "string", maxLength: 255, description: "The activity's title in the CRM." },
          content: { type: "string", description: "The activity's notes." },
          direction: { type: "string", enum: ["OUTBOUND"], description: "This CRM records outbound activities only." },
          engagement_type: { type: "string", format: "uuid" },
          start_time: { type: "string", format: "date-time" },
          end_time: { type: "string", format: "date-time" },
          account: { type: "string", format: "uuid" },
          contacts: { type: "array", items: { type: "string", format: "uuid" } },
          integration_params: { type: "object", properties: { call_disposition: { type: "string", enum: ["connected", "voicemail"] } } },
          linked_account_params: {
            type: "object",
            properties: { activity_owner_email: { type: "string", format: "email", description: "The email of the CRM user who owns the activity." } },
            required: ["activity_owner_email"],
          },
        },
        required: ["subject", "start_time", "linked_account_params"],
      },
    },
    required: ["model"],
  };
  const body = {
    model: {
      subject: "Intro call",
      start_time: "2024-05-01T10:00:00Z",
      direction: "OUTBOUND",
      contacts: ["123e4567-e89b-12d3-a456-426614174000"],
      integration_params: { call_disposition: "connected" },
      linked_account_params: { activity_owner_email: "owner@example.com" },
      remote_field_we_do_not_know: 1,
    },
  };

  it("accepts a complete body, unknown fields included", () => {
    expect(compileSchema(requestSchema).ignored).toEqual(["format:email"]);
    expect(faults(requestSchema, body)).toEqual([]);
  });

  it("reports missing model fields, the narrower enum and the nested linked_account_params entry by pointer", () => {
    const { subject: _subject, ...withoutSubject } = body.model;
    const problems = faults(requestSchema, {
      model: { ...withoutSubject, direction: "INBOUND", contacts: ["nope"], linked_account_params: {} },
    });
    expect(problems).toEqual([
      { pointer: "/model/subject", message: "must have required property 'subject'" },
      { pointer: "/model/direction", message: "must be equal to one of the allowed values: OUTBOUND" },
      { pointer: "/model/contacts/0", message: 'must match format "uuid"' },
      { pointer: "/model/linked_account_params/activity_owner_email", message: "must have required property 'activity_owner_email'" },
    ]);
    expect(faults(requestSchema, { model: { ...body.model, linked_account_params: undefined } })).toEqual([
      { pointer: "/model/linked_account_params", message: "must have required property 'linked_account_params'" },
    ]);
    expect(faults(requestSchema, {})).toEqual([{ pointer: "/model", message: "must have required property 'model'" }]);
  });

  it("reports under the base pointer given to check", () => {
    expect(faults(requestSchema, { model: { ...body.model, subject: 5 } }, "/body")).toEqual([{ pointer: "/body/model/subject", message: "must be string" }]);
  });
});

describe("createStrictCompiler (how generated/validators.ts is built from our spec)", () => {
  const spec = {
    components: {
      schemas: {
        When: { type: "string", format: "date-time", description: "an annotation, dropped" },
        Note: { type: "object", properties: { at: { $ref: "#/components/schemas/When" }, again: { $ref: "#/components/schemas/When" } } },
      },
    },
  };

  it("stops at a keyword or a format the runtime cannot evaluate, naming where", () => {
    const compiler = createStrictCompiler(spec);
    expect(() => compiler.compile({ type: "string", pattern: "^a" }, "POST /x body")).toThrow(new TypeError('compileSchema: POST /x body: unsupported pattern'));
    expect(() => compiler.compile({ type: "string", format: "email" }, "GET /y 200")).toThrow(new TypeError("compileSchema: GET /y 200: unsupported format:email"));
  });

  it("shares one entry between identical schemas and makes a lone $ref its target's entry", () => {
    const compiler = createStrictCompiler(spec);
    const note = compiler.compile({ $ref: "#/components/schemas/Note" }, "body");
    const when = compiler.compile({ type: "string", format: "date-time" }, "query");
    expect(compiler.compile({ type: "string", format: "date-time", description: "another filter" }, "query")).toBe(when);
    const { table, ignored } = compiler.finish();
    expect(ignored).toEqual([]);
    const whenRef = table[note]?.p?.at;
    expect(table[note]?.p).toEqual({ at: whenRef, again: whenRef });
    expect(table[whenRef ?? -1]).toEqual(table[when]);
    expect(table).toHaveLength(3);
    const problemsOf = (data: unknown) => {
      const problems: Problem[] = [];
      check(table, note, data, "", problems);
      return failing(problems, false);
    };
    expect(problemsOf({ at: "2026-12-07T00:00:00Z", again: "yesterday" })).toEqual([{ pointer: "/again", message: 'must match format "date-time"' }]);
    expect(problemsOf({ at: "2026-12-07T00:00:00Z" })).toEqual([]);
  });

  it("at run time (not strict) the same keywords are ignored and listed instead", () => {
    expect(compileSchema({ type: "string", pattern: "^a", format: "email" }).ignored).toEqual(["format:email", "pattern"]);
  });
});
