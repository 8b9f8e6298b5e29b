/**
 * Compiles the spec's schemas into TypeScript validators, ahead of time (generated/validators.ts), so
 * the package never compiles a schema or calls `new Function` at run time. Each schema becomes a small
 * function over src/validation-runtime.ts. A keyword this compiler does not know stops generation:
 * a spec change can never go unvalidated silently.
 */

type Schema = Record<string, unknown>;
type Spec = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; parameters?: Record<string, Parameter> };
};
type Parameter = { name: string; in: string; required?: boolean; schema: Schema; $ref?: string };
type Operation = {
  operationId: string;
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }>; $ref?: string }>;
};

// Keywords that only annotate: they never change what is valid.
const ANNOTATIONS = new Set(["description", "title", "example", "examples", "writeOnly", "readOnly", "deprecated", "default", "$comment"]);
const KEYWORDS = new Set([
  "type", "enum", "format", "properties", "required", "additionalProperties", "items", "uniqueItems",
  "anyOf", "allOf", "$ref", "minLength", "maxLength", "minimum", "maximum",
]);
const FORMATS = new Set(["uuid", "uri", "date-time"]);
const METHODS = ["get", "put", "post", "patch", "delete"] as const;

export function compileValidators(spec: Spec): string {
  const lines: string[] = [];
  const byRef = new Map<string, string>();
  const byShape = new Map<string, string>();
  let counter = 0;

  const resolve = (ref: string): { name: string; schema: Schema } => {
    const match = /^#\/components\/schemas\/([^/]+)$/.exec(ref);
    const name = match?.[1];
    const schema = name === undefined ? undefined : spec.components.schemas[name];
    if (name === undefined || schema === undefined) throw new Error(`compile-validators: cannot resolve ${ref}`);
    return { name, schema };
  };

  /** Emits a function for `schema` and returns its name. */
  const compile = (schema: Schema, where: string): string => {
    if (typeof schema.$ref === "string") {
      const extra = Object.keys(schema).filter((k) => k !== "$ref" && !ANNOTATIONS.has(k));
      if (extra.length > 0) throw new Error(`compile-validators: ${where}: $ref beside ${extra.join(", ")}`);
      const { name, schema: target } = resolve(schema.$ref);
      const known = byRef.get(name);
      if (known) return known;
      const fn = `s_${name}`;
      byRef.set(name, fn);
      emit(fn, target, `#/components/schemas/${name}`);
      return fn;
    }
    // Identical schemas (the same date-time parameter on six filters) share one function.
    const key = JSON.stringify(schema, (name: string, value: unknown) => (ANNOTATIONS.has(name) ? undefined : value));
    const same = byShape.get(key);
    if (same) return same;
    const fn = `f${counter++}`;
    byShape.set(key, fn);
    emit(fn, schema, where);
    return fn;
  };

  const emit = (fn: string, schema: Schema, where: string): void => {
    for (const key of Object.keys(schema)) {
      if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key) && !key.startsWith("x-")) {
        throw new Error(`compile-validators: ${where}: unsupported keyword "${key}"`);
      }
    }
    // Reserve the name before compiling children, so recursive schemas terminate.
    const body: string[] = [];
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      body.push(`if (!r.type(d, p, o, ${JSON.stringify(types)})) return;`);
    }
    if (Array.isArray(schema.enum)) body.push(`r.oneOfValues(d, p, o, ${JSON.stringify(schema.enum)});`);
    if (typeof schema.format === "string") {
      if (!FORMATS.has(schema.format)) throw new Error(`compile-validators: ${where}: unsupported format "${schema.format}"`);
      body.push(`r.format(d, p, o, ${JSON.stringify(schema.format)});`);
    }
    if (schema.minLength !== undefined || schema.maxLength !== undefined) {
      body.push(`r.length(d, p, o, ${Number(schema.minLength ?? 0)}, ${schema.maxLength === undefined ? "Infinity" : Number(schema.maxLength)});`);
    }
    if (schema.minimum !== undefined || schema.maximum !== undefined) {
      body.push(`r.range(d, p, o, ${schema.minimum === undefined ? "-Infinity" : Number(schema.minimum)}, ${schema.maximum === undefined ? "Infinity" : Number(schema.maximum)});`);
    }
    const properties = (schema.properties ?? undefined) as Record<string, Schema> | undefined;
    if (properties !== undefined || schema.required !== undefined || schema.additionalProperties !== undefined) {
      const props = Object.entries(properties ?? {}).map(([name, sub]) => `${JSON.stringify(name)}: ${compile(sub, `${where}/properties/${name}`)}`);
      const extra = schema.additionalProperties;
      const extraCode = extra === undefined ? "undefined" : extra === true ? "true" : extra === false ? "EMPTY_OBJECT_FORBIDDEN" : compile(extra as Schema, `${where}/additionalProperties`);
      if (extraCode === "EMPTY_OBJECT_FORBIDDEN") throw new Error(`compile-validators: ${where}: additionalProperties: false is not supported`);
      const constName = `P_${fn}`;
      lines.push(`const ${constName}: Readonly<Record<string, Check>> = { ${props.join(", ")} };`);
      body.push(`r.object(d, p, o, ${constName}, ${JSON.stringify(schema.required ?? [])}, ${extraCode});`);
    }
    if (schema.items !== undefined || schema.uniqueItems !== undefined) {
      const items = schema.items === undefined ? "undefined" : compile(schema.items as Schema, `${where}/items`);
      body.push(`r.array(d, p, o, ${items}, ${schema.uniqueItems === true});`);
    }
    if (Array.isArray(schema.allOf)) {
      for (const [i, sub] of (schema.allOf as Schema[]).entries()) body.push(`${compile(sub, `${where}/allOf/${i}`)}(d, p, o);`);
    }
    if (Array.isArray(schema.anyOf)) {
      const branches = (schema.anyOf as Schema[]).map((sub, i) => compile(sub, `${where}/anyOf/${i}`));
      body.push(`r.anyOf(d, p, o, [${branches.join(", ")}]);`);
    }
    lines.push(`function ${fn}(d: unknown, p: string, o: Problem[]): void {${body.length ? `\n  ${body.join("\n  ")}\n` : " "}}`);
  };

  /** A validator of an object made of parameters (query, path or header), from their schemas. */
  const compileParameters = (parameters: Parameter[], where: string): string => {
    const schema: Schema = {
      type: "object",
      properties: Object.fromEntries(parameters.map((param) => [param.name, param.schema])),
      required: parameters.filter((param) => param.required).map((param) => param.name),
    };
    return compile(schema, where);
  };

  const operations: string[] = [];
  const ids: string[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params = (op.parameters ?? []).map((param) => {
        if ("$ref" in param && typeof param.$ref === "string") {
          const name = /^#\/components\/parameters\/([^/]+)$/.exec(param.$ref)?.[1];
          const found = name === undefined ? undefined : spec.components.parameters?.[name];
          if (!found) throw new Error(`compile-validators: cannot resolve ${param.$ref}`);
          return found;
        }
        return param as Parameter;
      });
      const at = `${method.toUpperCase()} ${path}`;
      const parts: string[] = [];
      for (const location of ["query", "path", "header"] as const) {
        const own = params.filter((param) => param.in === location);
        if (own.length > 0) parts.push(`${location}: ${compileParameters(own, `${at} ${location}`)}`);
      }
      const body = op.requestBody?.content["application/json"]?.schema;
      if (body) parts.push(`body: ${compile(body, `${at} body`)}`);
      const responses: string[] = [];
      for (const [status, response] of Object.entries(op.responses)) {
        if (!status.startsWith("2")) continue;
        const schema = response.content?.["application/json"]?.schema;
        if (schema) responses.push(`${JSON.stringify(status)}: ${compile(schema, `${at} ${status}`)}`);
      }
      parts.push(`responses: { ${responses.join(", ")} }`);
      operations.push(`  ${op.operationId}: { ${parts.join(", ")} },`);
      ids.push(JSON.stringify(op.operationId));
    }
  }

  return [
    `import * as r from "../src/validation-runtime.js";`,
    `import type { Check, Problem } from "../src/validation-runtime.js";`,
    "",
    ...lines,
    "",
    "/** The operations of the spec, by operationId. */",
    `export type OperationId = ${ids.join(" | ")};`,
    "",
    "/** The validators of each operation: its parameters by location, its JSON body, its 2xx bodies. */",
    "export const operations: Readonly<Record<OperationId, OperationValidators>> = {",
    ...operations,
    "};",
    "",
    "/** What is validated for one operation. */",
    "export interface OperationValidators {",
    "  query?: Check;",
    "  path?: Check;",
    "  header?: Check;",
    "  body?: Check;",
    "  responses: Readonly<Record<string, Check>>;",
    "}",
    "",
  ].join("\n");
}
