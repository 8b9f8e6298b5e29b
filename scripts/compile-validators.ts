/**
 * Compiles the spec's schemas ahead of time into generated/validators.ts: a table of compact schemas
 * (see `CompiledSchema` in src/core/validation/runtime.ts) with every `$ref` resolved, identical schemas
 * shared and annotations dropped, plus the validators of each operation by parameter location. The
 * package then compiles no schema and calls no `new Function` at run time. A keyword this compiler does
 * not know stops generation: a spec change can never go unvalidated silently.
 */
import type { CompiledSchema } from "../src/core/validation/runtime.js";
import { TYPES } from "../src/core/validation/runtime.js";
import { FORMATS } from "../src/core/validation/formats.js";

type Schema = Record<string, unknown>;
type Parameter = { name: string; in: string; required?: boolean; schema: Schema };
type Operation = {
  operationId: string;
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
};
export type Spec = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; parameters?: Record<string, Parameter> };
};

// Keywords that only annotate: they never change what is valid.
const ANNOTATIONS = new Set(["description", "title", "example", "examples", "writeOnly", "readOnly", "deprecated", "default", "$comment"]);
const KEYWORDS = new Set([
  "type", "enum", "format", "properties", "required", "additionalProperties", "items", "uniqueItems",
  "anyOf", "allOf", "$ref", "minLength", "maxLength", "minimum", "maximum",
]);
const METHODS = ["get", "put", "post", "patch", "delete"] as const;

/** A JavaScript literal of a compiled schema: JSON, except that open bounds stay `Infinity`. */
function literal(value: CompiledSchema): string {
  const text = JSON.stringify(value, (_key: string, v: unknown) => (v === Infinity ? "\u0000+Inf" : v === -Infinity ? "\u0000-Inf" : v));
  return text.replace(/"\\u0000\+Inf"/g, "Infinity").replace(/"\\u0000-Inf"/g, "-Infinity");
}

export function compileValidators(spec: Spec): string {
  const table: CompiledSchema[] = [];
  const byRef = new Map<string, number>();
  const byShape = new Map<string, number>();

  const fail = (where: string, message: string): never => {
    throw new Error(`compile-validators: ${where}: ${message}`);
  };

  const compile = (schema: Schema, where: string): number => {
    if (typeof schema.$ref === "string") {
      const extra = Object.keys(schema).filter((k) => k !== "$ref" && !ANNOTATIONS.has(k));
      if (extra.length > 0) fail(where, `$ref beside ${extra.join(", ")}`);
      const name = /^#\/components\/schemas\/([^/]+)$/.exec(schema.$ref)?.[1];
      const target = name === undefined ? undefined : spec.components.schemas[name];
      if (name === undefined || target === undefined) return fail(where, `cannot resolve ${schema.$ref}`);
      const known = byRef.get(name);
      if (known !== undefined) return known;
      // Reserve the slot first, so that recursive schemas terminate.
      const index = table.push({}) - 1;
      byRef.set(name, index);
      table[index] = build(target, `#/components/schemas/${name}`);
      return index;
    }
    // Identical schemas (the same date-time parameter on six filters) share one entry.
    const shape = JSON.stringify(schema, (key: string, value: unknown) => (ANNOTATIONS.has(key) ? undefined : value));
    const known = byShape.get(shape);
    if (known !== undefined) return known;
    const index = table.push({}) - 1;
    byShape.set(shape, index);
    table[index] = build(schema, where);
    return index;
  };

  const build = (schema: Schema, where: string): CompiledSchema => {
    for (const key of Object.keys(schema)) {
      if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key) && !key.startsWith("x-")) fail(where, `unsupported keyword "${key}"`);
    }
    const out: CompiledSchema = {};
    if (schema.type !== undefined) {
      const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
      out.t = types.reduce((mask, type) => {
        const bit = TYPES.indexOf(type as (typeof TYPES)[number]);
        return bit < 0 ? fail(where, `unknown type "${type}"`) : mask | (1 << bit);
      }, 0);
    }
    if (Array.isArray(schema.enum)) out.e = schema.enum;
    if (schema.format !== undefined) {
      const format = String(schema.format);
      if (!Object.hasOwn(FORMATS, format)) fail(where, `unsupported format "${format}"`);
      out.f = format as keyof typeof FORMATS;
    }
    if (schema.minLength !== undefined || schema.maxLength !== undefined) {
      out.l = [Number(schema.minLength ?? 0), schema.maxLength === undefined ? Infinity : Number(schema.maxLength)];
    }
    if (schema.minimum !== undefined || schema.maximum !== undefined) {
      out.r = [schema.minimum === undefined ? -Infinity : Number(schema.minimum), schema.maximum === undefined ? Infinity : Number(schema.maximum)];
    }
    const properties = schema.properties as Record<string, Schema> | undefined;
    if (properties) out.p = Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, compile(sub, `${where}/properties/${name}`)]));
    if (Array.isArray(schema.required) && schema.required.length > 0) out.q = schema.required.map(String);
    const extra = schema.additionalProperties;
    if (extra === false) fail(where, "additionalProperties: false is not supported");
    if (extra === true) out.x = true;
    else if (extra !== undefined) out.x = compile(extra as Schema, `${where}/additionalProperties`);
    if (schema.items !== undefined) out.i = compile(schema.items as Schema, `${where}/items`);
    if (schema.uniqueItems === true) out.u = true;
    if (Array.isArray(schema.allOf)) out.n = (schema.allOf as Schema[]).map((sub, i) => compile(sub, `${where}/allOf/${i}`));
    if (Array.isArray(schema.anyOf)) out.a = (schema.anyOf as Schema[]).map((sub, i) => compile(sub, `${where}/anyOf/${i}`));
    return out;
  };

  /** An object made of parameters (query, path or header), from their schemas. */
  const compileParameters = (parameters: Parameter[], where: string): number =>
    compile(
      {
        type: "object",
        properties: Object.fromEntries(parameters.map((param) => [param.name, param.schema])),
        required: parameters.filter((param) => param.required).map((param) => param.name),
      },
      where,
    );

  const operations: string[] = [];
  const ids: string[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const at = `${method.toUpperCase()} ${path}`;
      const params = (op.parameters ?? []).map((param) => {
        if (!("$ref" in param)) return param;
        const name = /^#\/components\/parameters\/([^/]+)$/.exec(param.$ref)?.[1];
        const found = name === undefined ? undefined : spec.components.parameters?.[name];
        return found ?? fail(at, `cannot resolve ${param.$ref}`);
      });
      const parts: string[] = [];
      for (const location of ["query", "path", "header"] as const) {
        const own = params.filter((param) => param.in === location);
        if (own.length > 0) parts.push(`${location}: ${compileParameters(own, `${at} ${location}`)}`);
      }
      const body = op.requestBody?.content["application/json"]?.schema;
      if (body) parts.push(`body: ${compile(body, `${at} body`)}`);
      const responses = Object.entries(op.responses).flatMap(([status, response]) => {
        const schema = response.content?.["application/json"]?.schema;
        return status.startsWith("2") && schema ? [`${JSON.stringify(status)}: ${compile(schema, `${at} ${status}`)}`] : [];
      });
      parts.push(`responses: { ${responses.join(", ")} }`);
      operations.push(`  ${op.operationId}: { ${parts.join(", ")} },`);
      ids.push(JSON.stringify(op.operationId));
    }
  }

  return [
    `import type { CompiledSchema } from "../src/core/validation/runtime.js";`,
    "",
    "/** Every schema of the spec, compiled; schemas refer to each other by index. */",
    "export const schemas: readonly CompiledSchema[] = [",
    ...table.map((entry, i) => `  /* ${i} */ ${literal(entry)},`),
    "];",
    "",
    "/** The operations of the spec, by operationId. */",
    `export type OperationId = ${ids.join(" | ")};`,
    "",
    "/** The schema (an index into `schemas`) of each part of each operation: parameters by location, JSON body, 2xx bodies. */",
    "export const operations: Readonly<Record<OperationId, OperationValidators>> = {",
    ...operations,
    "};",
    "",
    "/** What is validated for one operation. */",
    "export interface OperationValidators {",
    "  query?: number;",
    "  path?: number;",
    "  header?: number;",
    "  body?: number;",
    "  responses: Readonly<Record<string, number>>;",
    "}",
    "",
  ].join("\n");
}
