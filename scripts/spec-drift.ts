/**
 * Drift against Merge's published spec: compares our operations on the CRM resources we describe
 * (`RESOURCES`: engagements, the lookups a create needs and the linked account's details) in
 * generated/openapi.json with an OpenAPI file the maintainer downloads from Merge, field by field:
 * every path and method of those resources; query, path and header parameters; request and response
 * body fields, with type, format, enum, nullability and required-ness. Deliberate deviations are listed
 * with their reason in openapi/drift-allowlist.yaml.
 *
 * Usage: `npm run spec:drift -- FILE [--ours FILE] [--allowlist FILE]` (YAML or JSON, OpenAPI 3.0 or 3.1).
 * Exits 1 on drift that no allowlist entry matches, listing each item; names the allowlist entries that
 * no longer match anything (they do not fail the run).
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { root, step } from "./lib.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface AllowlistEntry {
  /** A drift item's key, or a glob over keys where `*` stands for any characters. */
  match: string;
  reason: string;
}

/** One difference between the two documents: `key` is what allowlist entries match. */
interface DriftItem {
  key: string;
  ours: string;
  upstream: string;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** The CRM resources compared, as the first segment after `/crm/v1/`. Merge's other operations on them
 * (updates, ignores, remote field classes) that we leave out are named in the allowlist. */
const RESOURCES = ["engagements", "engagement-types", "contacts", "users", "accounts", "account-details"];
const RESOURCE_PATH = new RegExp(`(?:^|/)(?:crm/v1/)?((?:${RESOURCES.join("|")})(?:/.*)?)$`);
/** How deep into nested objects fields are compared (model.account.owner.… stops here). */
const MAX_DEPTH = 5;

function fail(message: string): never {
  console.error(`spec:drift: ${message}`);
  process.exit(2);
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readDocument(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    fail(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = (/\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: -1 })) as Json;
  if (!isObject(parsed) || (typeof parsed.openapi !== "string" && typeof parsed.swagger !== "string")) fail(`${file} is not an OpenAPI document`);
  if (typeof parsed.swagger === "string") fail(`${file} is Swagger ${parsed.swagger}; spec:drift reads OpenAPI 3.0 and 3.1`);
  return parsed;
}

/** Follows local `$ref`s (`#/components/...`); other refs are reported, since neither spec uses them. */
function deref(doc: JsonObject, value: Json | undefined, seen: readonly string[] = []): { value: Json | undefined; refs: string[] } {
  let current = value;
  const refs = [...seen];
  while (isObject(current) && typeof current.$ref === "string") {
    const ref = current.$ref;
    if (!ref.startsWith("#/")) fail(`only local $refs are supported, found ${ref}`);
    if (refs.includes(ref)) return { value: undefined, refs };
    refs.push(ref);
    let target: Json | undefined = doc;
    for (const part of ref.slice(2).split("/")) {
      const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) fail(`unresolved $ref ${ref}`);
    current = target;
  }
  return { value: current, refs };
}

/** What is compared of one schema: its own facets, and its fields (`name`, `name[]`, `name.sub`). */
interface Facets {
  type: string;
  format: string;
  enum: string;
  /** "true" when the enum also admits any other value of its type (an open read enum), "" without an enum. */
  "open-enum": string;
  nullable: string;
}

interface Field {
  facets: Facets;
  required: boolean;
}

interface Shape {
  facets: Facets;
  fields: Map<string, Field>;
}

/**
 * Flattens a schema: `type` as the sorted set of non-null types (3.1 `type: [x, "null"]` and 3.0
 * `nullable: true` both become `nullable: true`), `oneOf`/`anyOf` as the union of their variants,
 * `allOf` as the merge of its members, and every property reached through objects and array items.
 */
function shape(doc: JsonObject, schema: Json | undefined, depth = 0, refs: readonly string[] = []): Shape {
  const types = new Set<string>();
  const formats = new Set<string>();
  const enums = new Set<string>();
  let nullable = false;
  // A variant with a type and no enum beside one with an enum (`anyOf: [Direction, string]`) opens the enum.
  let open = false;
  const fields = new Map<string, Field>();

  const visit = (raw: Json | undefined, seen: readonly string[]): void => {
    const { value: node, refs: path } = deref(doc, raw, seen);
    if (!isObject(node)) return;
    const type = node.type;
    for (const t of Array.isArray(type) ? type : type === undefined ? [] : [type]) {
      if (t === "null") nullable = true;
      else if (typeof t === "string") types.add(t);
    }
    if (node.nullable === true) nullable = true;
    if (typeof node.format === "string") formats.add(node.format);
    if (Array.isArray(node.enum)) {
      for (const e of node.enum) {
        if (e === null) nullable = true;
        else enums.add(String(e));
      }
      if (type === undefined) for (const e of node.enum) if (e !== null) types.add(typeof e === "number" ? "number" : typeof e);
    }
    if ("const" in node && node.const !== undefined) {
      if (node.const === null) nullable = true;
      else enums.add(String(node.const));
    }
    const composite = node.oneOf !== undefined || node.anyOf !== undefined || node.allOf !== undefined;
    if (type !== undefined && type !== "null" && !Array.isArray(node.enum) && !("const" in node) && !composite) open = true;
    for (const key of ["oneOf", "anyOf", "allOf"] as const) {
      const members = node[key];
      if (Array.isArray(members)) for (const member of members) visit(member, path);
    }
    if (depth >= MAX_DEPTH) return;
    const required = new Set(Array.isArray(node.required) ? node.required.filter((r): r is string => typeof r === "string") : []);
    if (isObject(node.properties)) {
      for (const [name, property] of Object.entries(node.properties)) {
        const inner = shape(doc, property, depth + 1, path);
        const previous = fields.get(name);
        fields.set(name, { facets: inner.facets, required: required.has(name) || (previous?.required ?? false) });
        for (const [sub, field] of inner.fields) fields.set(`${name}${sub.startsWith("[]") ? "" : "."}${sub}`, field);
      }
    }
    if (node.items !== undefined) {
      const inner = shape(doc, node.items, depth + 1, path);
      fields.set("[]", { facets: inner.facets, required: false });
      for (const [sub, field] of inner.fields) fields.set(`[]${sub.startsWith("[]") ? "" : "."}${sub}`, field);
    }
  };
  visit(schema, refs);

  const sorted = (set: Set<string>) => [...set].sort().join("|");
  const facets: Facets = {
    type: sorted(types) || "any",
    format: sorted(formats),
    enum: sorted(enums),
    "open-enum": enums.size > 0 ? String(open) : "",
    nullable: String(nullable),
  };
  return { facets, fields };
}

/** `/api/crm/v1/engagements/{id}` (a prefix on the path or in `servers`) -> `/crm/v1/engagements/{id}`; other resources -> undefined. */
function normalizePath(doc: JsonObject, path: string): string | undefined {
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  const first = servers[0];
  const serverPath = isObject(first) && typeof first.url === "string" ? first.url.replace(/^[a-z]+:\/\/[^/]+/i, "") : "";
  const full = `${serverPath.replace(/\/$/, "")}${path}`;
  const match = RESOURCE_PATH.exec(full);
  return match ? `/crm/v1/${match[1]}` : undefined;
}

interface Operation {
  parameters: Map<string, { required: boolean; facets: Facets }>;
  request: { required: boolean; shape: Shape } | undefined;
  responses: Map<string, Shape | undefined>;
}

function jsonSchemaOf(doc: JsonObject, holder: Json | undefined): Json | undefined {
  const { value } = deref(doc, holder);
  if (!isObject(value) || !isObject(value.content)) return undefined;
  const content = value.content;
  const media = content["application/json"] ?? Object.values(content)[0];
  return isObject(media) ? media.schema : undefined;
}

function operations(doc: JsonObject): Map<string, Operation> {
  const result = new Map<string, Operation>();
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [rawPath, rawItem] of Object.entries(paths)) {
    const path = normalizePath(doc, rawPath);
    const { value: item } = deref(doc, rawItem);
    if (path === undefined || !isObject(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const parameters = new Map<string, { required: boolean; facets: Facets }>();
      for (const raw of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
        const { value: parameter } = deref(doc, raw);
        if (!isObject(parameter) || typeof parameter.name !== "string" || typeof parameter.in !== "string") continue;
        if (parameter.in === "cookie") continue;
        // Header names are case-insensitive on the wire.
        const name = parameter.in === "header" ? parameter.name.toLowerCase() : parameter.name;
        parameters.set(`${parameter.in} ${name}`, { required: parameter.required === true, facets: shape(doc, parameter.schema).facets });
      }
      const { value: body } = deref(doc, op.requestBody);
      const requestSchema = jsonSchemaOf(doc, op.requestBody);
      const request = isObject(body) ? { required: body.required === true, shape: shape(doc, requestSchema) } : undefined;
      const responses = new Map<string, Shape | undefined>();
      for (const [status, response] of Object.entries(isObject(op.responses) ? op.responses : {})) {
        const schema = jsonSchemaOf(doc, response);
        responses.set(status, schema === undefined ? undefined : shape(doc, schema));
      }
      result.set(`${method.toUpperCase()} ${path}`, { parameters, request, responses });
    }
  }
  return result;
}

function compareFacets(items: DriftItem[], key: string, ours: Facets, upstream: Facets): void {
  for (const facet of ["type", "format", "enum", "open-enum", "nullable"] as const) {
    if (ours[facet] !== upstream[facet]) items.push({ key: `${key}: ${facet}`, ours: ours[facet] || "(none)", upstream: upstream[facet] || "(none)" });
  }
}

function compareShapes(items: DriftItem[], key: string, ours: Shape, upstream: Shape): void {
  compareFacets(items, key, ours.facets, upstream.facets);
  for (const name of new Set([...ours.fields.keys(), ...upstream.fields.keys()])) {
    const a = ours.fields.get(name);
    const b = upstream.fields.get(name);
    const fieldKey = `${key} ${name}`;
    if (!a || !b) {
      items.push({ key: fieldKey, ours: a ? "present" : "absent", upstream: b ? "present" : "absent" });
      continue;
    }
    compareFacets(items, fieldKey, a.facets, b.facets);
    if (a.required !== b.required) items.push({ key: `${fieldKey}: required`, ours: String(a.required), upstream: String(b.required) });
  }
}

/** Every difference between our operations and upstream's on `RESOURCES`, keyed for the allowlist. */
export function drift(ours: JsonObject, upstream: JsonObject): DriftItem[] {
  const items: DriftItem[] = [];
  const a = operations(ours);
  const b = operations(upstream);
  for (const op of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(op);
    const y = b.get(op);
    if (!x || !y) {
      items.push({ key: op, ours: x ? "present" : "absent", upstream: y ? "present" : "absent" });
      continue;
    }
    for (const name of new Set([...x.parameters.keys(), ...y.parameters.keys()])) {
      const p = x.parameters.get(name);
      const q = y.parameters.get(name);
      const key = `${op} ${name}`;
      if (!p || !q) {
        items.push({ key, ours: p ? "present" : "absent", upstream: q ? "present" : "absent" });
        continue;
      }
      if (p.required !== q.required) items.push({ key: `${key}: required`, ours: String(p.required), upstream: String(q.required) });
      compareFacets(items, key, p.facets, q.facets);
    }
    if (!x.request || !y.request) {
      if (x.request || y.request) items.push({ key: `${op} request`, ours: x.request ? "present" : "absent", upstream: y.request ? "present" : "absent" });
    } else {
      if (x.request.required !== y.request.required) items.push({ key: `${op} request: required`, ours: String(x.request.required), upstream: String(y.request.required) });
      compareShapes(items, `${op} request`, x.request.shape, y.request.shape);
    }
    for (const status of new Set([...x.responses.keys(), ...y.responses.keys()])) {
      const key = `${op} response ${status}`;
      if (!x.responses.has(status) || !y.responses.has(status)) {
        items.push({ key, ours: x.responses.has(status) ? "present" : "absent", upstream: y.responses.has(status) ? "present" : "absent" });
        continue;
      }
      const r = x.responses.get(status);
      const s = y.responses.get(status);
      if (!r || !s) {
        if (r || s) items.push({ key: `${key}: body`, ours: r ? "JSON" : "none", upstream: s ? "JSON" : "none" });
        continue;
      }
      compareShapes(items, key, r, s);
    }
  }
  return items;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

function readAllowlist(file: string): AllowlistEntry[] {
  const parsed = parseYaml(readFileSync(file, "utf8")) as Json;
  const list = isObject(parsed) ? parsed.allow : undefined;
  if (!Array.isArray(list)) fail(`${file} needs a top-level \`allow:\` list of { match, reason }`);
  return list.map((entry, i) => {
    if (!isObject(entry) || typeof entry.match !== "string" || typeof entry.reason !== "string" || entry.reason.trim() === "") {
      fail(`${file}: entry ${String(i + 1)} needs a string \`match\` and a non-empty \`reason\``);
    }
    return { match: entry.match, reason: entry.reason };
  });
}

function main(): void {
  const args = process.argv.slice(2);
  let upstreamFile: string | undefined;
  let oursFile = join(root, "generated", "openapi.json");
  let allowlistFile = join(root, "openapi", "drift-allowlist.yaml");
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--ours") oursFile = resolve(args[++i] ?? fail("--ours needs a file"));
    else if (arg === "--allowlist") allowlistFile = resolve(args[++i] ?? fail("--allowlist needs a file"));
    else if (arg !== undefined && !arg.startsWith("--") && upstreamFile === undefined) upstreamFile = resolve(arg);
    else fail(`unexpected argument ${String(arg)} (usage: spec:drift -- FILE [--ours FILE] [--allowlist FILE])`);
  }
  if (upstreamFile === undefined) fail("usage: npm run spec:drift -- FILE (Merge's published CRM OpenAPI file, YAML or JSON)");

  step(`read ${upstreamFile} (upstream) and ${oursFile} (ours)`);
  const upstream = readDocument(upstreamFile);
  const ours = readDocument(oursFile);
  const allowlist = readAllowlist(allowlistFile);

  step(`compare the operations on ${RESOURCES.join(", ")} field by field`);
  const upstreamOps = [...operations(upstream).keys()];
  if (upstreamOps.length === 0) fail(`${upstreamFile} has no /crm/v1 operations on ${RESOURCES.join(", ")}: is it Merge's CRM spec?`);
  const items = drift(ours, upstream);
  const patterns = allowlist.map((entry) => ({ entry, pattern: globToRegExp(entry.match), used: 0 }));
  const unexplained: DriftItem[] = [];
  for (const item of items) {
    const matches = patterns.filter((p) => p.pattern.test(item.key));
    for (const p of matches) p.used++;
    if (matches.length === 0) unexplained.push(item);
  }

  console.log(`${String(upstreamOps.length)} upstream operation(s); ${String(items.length)} difference(s), ${String(items.length - unexplained.length)} allowlisted`);
  const stale = patterns.filter((p) => p.used === 0);
  if (stale.length > 0) {
    console.log(`\n${String(stale.length)} allowlist entr${stale.length === 1 ? "y matches" : "ies match"} nothing any more (remove them from ${allowlistFile}):`);
    for (const p of stale) console.log(`  - ${p.entry.match}   (${p.entry.reason.trim()})`);
  }
  if (unexplained.length > 0) {
    console.error(`\nspec:drift fails: ${String(unexplained.length)} difference(s) not in ${allowlistFile}:`);
    for (const item of unexplained) console.error(`  ${item.key}   ours: ${item.ours}; upstream: ${item.upstream}`);
    process.exitCode = 1;
  } else {
    console.log("\nspec:drift passes: every difference is allowlisted.");
  }
}

main();
