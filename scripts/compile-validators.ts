/**
 * Compiles the spec's schemas ahead of time into generated/validators.ts: a table of compact schemas
 * (see `CompiledSchema` in src/core/validation/runtime.ts) with every `$ref` resolved, identical schemas
 * shared and annotations dropped, plus the validators of each operation by parameter location. The
 * package then compiles no schema and calls no `new Function` at run time. The compiler is the one the
 * package runs on accounts' schemas (src/core/validation/schema-compiler.ts), strict: a keyword it does
 * not know stops generation: a spec change can never go unvalidated silently.
 */
import type { CompiledSchema } from "../src/core/validation/runtime.js";
import { createSchemaCompiler, isAnnotation, type SchemaCompiler } from "../src/core/validation/schema-compiler.js";

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

const METHODS = ["get", "put", "post", "patch", "delete"] as const;

// The order of an entry's keys in the generated file: fixed, so that the file changes only when the spec does.
const KEY_ORDER = ["t", "e", "f", "l", "r", "p", "q", "x", "i", "u", "n", "a"] as const satisfies readonly (keyof CompiledSchema)[];
// Fails to type-check when the runtime gains a key that KEY_ORDER does not list (it would be dropped).
const everyKeyOrdered: [Exclude<keyof CompiledSchema, (typeof KEY_ORDER)[number]>] extends [never] ? true : never = true;
void everyKeyOrdered;

/** A JavaScript literal of a compiled schema: JSON, except that open bounds stay `Infinity`. */
function literal(entry: CompiledSchema): string {
  const value = Object.fromEntries(KEY_ORDER.filter((key) => entry[key] !== undefined).map((key) => [key, entry[key]]));
  const text = JSON.stringify(value, (_key: string, v: unknown) => (v === Infinity ? "\u0000+Inf" : v === -Infinity ? "\u0000-Inf" : v));
  return text.replace(/"\\u0000\+Inf"/g, "Infinity").replace(/"\\u0000-Inf"/g, "-Infinity");
}

/**
 * The compiler the package runs on accounts' schemas, made strict for our own spec: a keyword or format
 * it cannot evaluate throws, naming where; identical schemas share one entry (the same date-time filter
 * on six parameters); and a schema that is only a `$ref` is its target's entry, not one of its own.
 */
export function createStrictCompiler(spec: unknown): SchemaCompiler {
  const byShape = new Map<string, number>();
  return createSchemaCompiler(spec, {
    unsupported(what, where) {
      throw new TypeError(`compileSchema: ${where || "the schema"}: unsupported ${what}`);
    },
    compile(node, where, entry, resolve) {
      if (typeof node === "object" && node !== null && "$ref" in node && Object.keys(node).every((key) => key === "$ref" || isAnnotation(key))) {
        return entry(resolve(node.$ref), String(node.$ref));
      }
      const shape = JSON.stringify(node, (key: string, value: unknown) => (isAnnotation(key) ? undefined : value));
      const index = byShape.get(shape) ?? entry(node, where);
      byShape.set(shape, index);
      return index;
    },
  });
}

export function compileValidators(spec: Spec): string {
  const compiler = createStrictCompiler(spec);
  const compile = (schema: Schema, where: string): number => compiler.compile(schema, where);
  const fail = (where: string, message: string): never => {
    throw new Error(`compile-validators: ${where}: ${message}`);
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

  const { table } = compiler.finish();
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
