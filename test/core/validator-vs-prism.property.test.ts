/**
 * Property-based test: the client's request validation (validateRequest, compiled ahead of time from
 * the spec) and Prism (serving the same spec with --errors) must agree on every request, valid or not.
 * Bodies of POST /crm/v1/engagements and queries of GET /crm/v1/engagements are generated with
 * fast-check from a fixed seed, sent to Prism with plain `fetch`, and checked with validateRequest; any
 * sample on which the two differ is a failure. Each sample is also sent through the undici transport
 * (merge-crm-engagements/undici, given the deferred request as the client gives it), whose answer
 * (status and sl-violations) must be the one `fetch` got: both transports put the same request on the
 * wire, query encoding included. PROPERTY_SEED=<n> and PROPERTY_RUNS=<n> (bodies; queries
 * get half) explore further.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { createQuerySerializer } from "openapi-fetch";
import { MergeValidationError, type ValidationIssue } from "../../src/core/errors.js";
import { DeferredRequest } from "../../src/core/deferred-request.js";
import { validateRequest } from "../../src/core/validation/spec-validators.js";
import { integerFromEnvironment, prismUrl } from "../support/prism.js";
import { undiciFetch } from "../support/transports.js";

type Json = fc.JsonValue;
type JsonObject = { [key: string]: Json };

const SEED = integerFromEnvironment("PROPERTY_SEED", 20_240_611);
const BODY_RUNS = integerFromEnvironment("PROPERTY_RUNS", 300);
const QUERY_RUNS = Math.max(1, Math.round(BODY_RUNS / 2));
const TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------------------------
// The fields of EngagementRequest, read from the bundled spec, so that a new field fails the
// coverage test below until the generators learn it.
// ---------------------------------------------------------------------------------------------

function schemaFieldNames(schemaName: string): string[] {
  const spec: unknown = JSON.parse(readFileSync(new URL("../../generated/openapi.json", import.meta.url), "utf8"));
  const schema = dig(spec, ["components", "schemas", schemaName, "properties"]);
  if (typeof schema !== "object" || schema === null) throw new Error(`no properties for ${schemaName} in generated/openapi.json`);
  return Object.keys(schema);
}

function dig(value: unknown, path: readonly string[]): unknown {
  let here = value;
  for (const key of path) {
    if (typeof here !== "object" || here === null || !(key in here)) return undefined;
    here = Object.getOwnPropertyDescriptor(here, key)?.value;
  }
  return here;
}

const SPEC_FIELDS = schemaFieldNames("EngagementRequest");

// ---------------------------------------------------------------------------------------------
// Values: valid and invalid, per kind of field.
// ---------------------------------------------------------------------------------------------

const NOT_NULL_JSON = fc.jsonValue({ maxDepth: 1 }).filter((v) => v !== null);
/** Any JSON value but a string or null: the wrong type for every string-or-null field. */
const wrongTypeForString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

const uuid = fc.oneof(
  { weight: 6, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((u) => `urn:uuid:${u}`) },
);
const badUuid = fc.oneof(
  fc.uuid().map((u) => u.replace(/-/g, "")),
  fc.uuid().map((u) => u.slice(0, -1)),
  fc.uuid().map((u) => `${u}0`),
  fc.uuid().map((u) => `{${u}}`),
  fc.uuid().map((u) => `uuid:${u}`),
  fc
    .tuple(fc.uuid(), fc.nat({ max: 35 }), fc.constantFrom("g", "z", " ", "_", "G"))
    .map(([u, at, c]) => `${u.slice(0, at)}${c}${u.slice(at + 1)}`),
  fc.constantFrom("not-a-uuid", "", "0358cbc6-2040-430a-848e", "0358cbc62040430a848eaafacbadf3aa"),
  fc.string({ maxLength: 40 }),
);

const nullable = <T extends Json>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 5, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(null) });

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (y: number, m: number): number => (m === 2 ? (isLeap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);

const zone = fc.oneof(
  fc.constantFrom("Z", "z"),
  fc
    .tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.constantFrom(":", ""))
    .map(([sign, h, m, colon]) => `${sign}${pad(h)}${colon}${pad(m)}`),
);
const fraction = fc.oneof(fc.constant(""), fc.stringMatching(/^\.\d{1,9}$/));
interface DateTimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fraction: string;
  separator: string;
  zone: string;
}
const render = (p: DateTimeParts): string =>
  `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${p.zone}`;

const dateTimeParts: fc.Arbitrary<DateTimeParts> = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction,
    separator: fc.constantFrom("T", "t", " "),
    zone,
  })
  .map((p) => ({ ...p, day: Math.min(p.day, daysIn(p.year, p.month)) }));

/** RFC 3339 date-times with a zone, including the leap second 23:59:60. */
const dateTime = fc.oneof(
  { weight: 6, arbitrary: dateTimeParts.map(render) },
  { weight: 1, arbitrary: dateTimeParts.map((p) => render({ ...p, hour: 23, minute: 59, second: 60 })) },
  {
    weight: 2,
    arbitrary: fc
      .date({ min: new Date("0000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
);
const badDateTime = fc.oneof(
  // No zone.
  dateTimeParts.map((p) => render({ ...p, zone: "" })),
  // Dates that do not exist.
  dateTimeParts.map((p) => render({ ...p, month: 2, day: 30 })),
  dateTimeParts.map((p) => render({ ...p, year: 2023, month: 2, day: 29 })),
  dateTimeParts.map((p) => render({ ...p, month: 4, day: 31 })),
  dateTimeParts.map((p) => render({ ...p, month: 13 })),
  dateTimeParts.map((p) => render({ ...p, month: 0 })),
  dateTimeParts.map((p) => render({ ...p, day: 0 })),
  dateTimeParts.map((p) => render({ ...p, day: 32 })),
  // Times that do not exist.
  dateTimeParts.map((p) => render({ ...p, hour: 24 })),
  dateTimeParts.map((p) => render({ ...p, minute: 60 })),
  dateTimeParts.map((p) => render({ ...p, second: 61 })),
  dateTimeParts.map((p) => render({ ...p, hour: 12, second: 60 })),
  // Not a date-time at all.
  dateTimeParts.map((p) => render(p).slice(0, 10)),
  dateTimeParts.map((p) => render(p).replace(/:\d\d(?=[.zZ+-]|$)/, "")),
  dateTimeParts.map((p) => render({ ...p, separator: "_" })),
  dateTimeParts.map((p) => render({ ...p, separator: "TT" })),
  dateTimeParts.map((p) => render({ ...p, zone: "+25:00" })),
  fc.constantFrom("2023-02-30T00:00:00Z", "2023-02-10T00:00:00", "2022-02-10", "10:00:00Z", "2022/02/10T00:00:00Z", "now", ""),
  fc.string({ maxLength: 25 }),
);

const webUrl = fc.oneof(
  { weight: 4, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "https://crm.example.com/engagements/19202938",
      "http://localhost:8080/x?y=1#z",
      "urn:isbn:0451450523",
      "mailto:someone@example.com",
      "https://[2001:db8::1]/engagement",
    ),
  },
);
const badUrl = fc.oneof(
  fc.constantFrom(
    "foo",
    "",
    "crm.example.com/engagements/1",
    "/engagements/1",
    "http://exa mple.com",
    "https://example.com/<script>",
    "://example.com",
    "1http://example.com",
    "https://example.com/%zz",
    'https://example.com/"quoted"',
    "https://example.com/a b",
    "https://[::1/",
  ),
  fc.webUrl().map((u) => u.replace("://", ":// ")),
  fc.webUrl().map((u) => u.replace(/^https?/, "")),
  fc.stringMatching(/^[a-z]{1,10}$/),
);

const direction = fc.constantFrom("INBOUND", "OUTBOUND", null);
const badDirection = fc.oneof(
  fc.constantFrom("SIDEWAYS", "inbound", "Outbound", "", " INBOUND", "INBOUND ", "BOTH"),
  fc.string({ maxLength: 10 }).filter((s) => s !== "INBOUND" && s !== "OUTBOUND"),
  wrongTypeForString,
);

const text = fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 30 }), fc.lorem({ maxCount: 5 }));

const params = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const badParams = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.boolean(),
);

const remoteField: fc.Arbitrary<JsonObject> = fc
  .tuple(uuid, fc.option(fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value }))))
  .map(([remote_field_class, value]) => ({ remote_field_class, ...(value ?? {}) }));
const remoteFields = fc.array(remoteField, { maxLength: 3 });
const badRemoteField: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value })),
  fc.constant({}),
  badUuid.map((remote_field_class) => ({ remote_field_class, value: 1 })),
  fc.constantFrom<Json>(null, 5, "2fa1c5d4-7d0e-4b8a-9c3f-1f2e3d4c5b6a", ["2fa1c5d4-7d0e-4b8a-9c3f-1f2e3d4c5b6a"]),
  fc.constantFrom(null, 42, true).map((remote_field_class) => ({ remote_field_class })),
);
/** A list of valid items with one bad item put somewhere in it. */
const withOneBad = <T extends Json>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<Json>): fc.Arbitrary<Json> =>
  fc
    .tuple(fc.array(good, { maxLength: 3 }), bad, fc.nat())
    .map(([items, item, at]): Json => {
      const list: Json[] = [...items];
      list.splice(at % (list.length + 1), 0, item);
      return list;
    });

const contacts = fc.array(uuid, { maxLength: 4 });
const badContacts = fc.oneof(
  withOneBad(uuid, fc.oneof(badUuid, fc.integer(), fc.constant(null))),
  uuid,
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 5 }), uuid, { maxKeys: 2 }),
  fc.integer(),
);
const badRemoteFields = fc.oneof(
  { weight: 4, arbitrary: withOneBad(remoteField, badRemoteField) },
  { weight: 1, arbitrary: fc.oneof(fc.constant<Json>(null), remoteField, fc.string({ maxLength: 5 }), fc.integer()) },
);

interface FieldValues {
  valid: fc.Arbitrary<Json>;
  invalid: fc.Arbitrary<Json>;
}

/** Every field of EngagementRequest, with what the spec allows and what it does not. */
const FIELDS: Readonly<Record<string, FieldValues>> = {
  owner: { valid: nullable(uuid), invalid: fc.oneof(badUuid, wrongTypeForString) },
  content: { valid: nullable(text), invalid: wrongTypeForString },
  subject: { valid: nullable(text), invalid: wrongTypeForString },
  direction: { valid: direction, invalid: badDirection },
  engagement_type: { valid: nullable(uuid), invalid: fc.oneof(badUuid, wrongTypeForString) },
  start_time: { valid: nullable(dateTime), invalid: fc.oneof({ weight: 4, arbitrary: badDateTime }, { weight: 1, arbitrary: wrongTypeForString }) },
  end_time: { valid: nullable(dateTime), invalid: fc.oneof({ weight: 4, arbitrary: badDateTime }, { weight: 1, arbitrary: wrongTypeForString }) },
  account: { valid: nullable(uuid), invalid: fc.oneof(badUuid, wrongTypeForString) },
  contacts: { valid: contacts, invalid: badContacts },
  engagement_url: { valid: nullable(webUrl), invalid: fc.oneof({ weight: 4, arbitrary: badUrl }, { weight: 1, arbitrary: wrongTypeForString }) },
  integration_params: { valid: nullable(params), invalid: badParams },
  linked_account_params: { valid: nullable(params), invalid: badParams },
  remote_fields: { valid: remoteFields, invalid: badRemoteFields },
};
const FIELD_NAMES = Object.keys(FIELDS);

/** Names the spec does not know: unknown fields are allowed (they fail only in strict mode). */
const unknownName = (known: readonly string[]) =>
  fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom("custom_fields", "id", "remote_id", "Owner", "__proto__")).filter(
    (name) => !known.includes(name),
  );
const extras = (known: readonly string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant<JsonObject>({}) },
    { weight: 1, arbitrary: fc.dictionary(unknownName(known), NOT_NULL_JSON, { minKeys: 1, maxKeys: 2 }) },
  );

/** Own, enumerable data properties in the given order (also for `__proto__`). */
function objectOf(entries: readonly (readonly [string, Json])[]): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A model with any subset of fields, each with a valid value, plus (sometimes) unknown fields. */
const validModel: fc.Arbitrary<JsonObject> = fc
  .tuple(fc.tuple(...FIELD_NAMES.map((name) => fc.option(fieldsOf(name).valid.map((value) => ({ value })), { freq: 2 }))), extras(SPEC_FIELDS))
  .map(([picked, extra]) => {
    const entries: [string, Json][] = [];
    picked.forEach((slot, i) => {
      const name = FIELD_NAMES[i];
      if (slot !== null && name !== undefined) entries.push([name, slot.value]);
    });
    return objectOf([...entries, ...Object.entries(extra)]);
  });

function fieldsOf(name: string): FieldValues {
  const field = FIELDS[name];
  if (!field) throw new Error(`no generator for field ${name}`);
  return field;
}

/** One to three fields set to values the spec refuses. */
const faults = fc.array(
  fc.oneof(...FIELD_NAMES.map((name) => fieldsOf(name).invalid.map((value): [string, Json] => [name, value]))),
  { minLength: 1, maxLength: 3 },
);
const invalidModel: fc.Arbitrary<JsonObject> = fc
  .tuple(validModel, faults)
  .map(([model, bad]) => objectOf([...Object.entries(model).filter(([k]) => !bad.some(([b]) => b === k)), ...bad]));

const envelope = (model: fc.Arbitrary<Json>): fc.Arbitrary<Json> =>
  fc.tuple(model, extras(["model"])).map(([m, extra]) => objectOf([["model", m], ...Object.entries(extra)]));

const brokenEnvelope: fc.Arbitrary<Json> = fc.oneof(
  // No model.
  fc.constant<Json>({}),
  validModel.map((m): Json => ({ Model: m })),
  validModel.map((m): Json => objectOf([["__proto__", m]])),
  fc.dictionary(unknownName(["model"]), NOT_NULL_JSON, { minKeys: 1, maxKeys: 2 }),
  // A model that is no object.
  envelope(fc.constantFrom<Json>(null, "model", 0, true, [])),
  envelope(validModel.map((m): Json => [m])),
  // A body that is no object.
  validModel.map((m): Json => [{ model: m }]),
  fc.constantFrom<Json>(null, "model", 1, false),
);

const bodySample: fc.Arbitrary<Json> = fc.oneof(
  { weight: 10, arbitrary: envelope(validModel) },
  { weight: 8, arbitrary: envelope(invalidModel) },
  { weight: 2, arbitrary: brokenEnvelope },
);

// ---------------------------------------------------------------------------------------------
// Queries of GET /crm/v1/engagements. Prism coerces query strings (ajv coerceTypes), so only values
// whose string form is unambiguous are generated: no numeric strings for page_size, no
// "true"/"false"/"" strings for the booleans, no empty expand items.
// ---------------------------------------------------------------------------------------------

type QueryValue = string | number | boolean | string[];
const EXPAND = ["account", "contacts", "engagement_type", "owner"];
const BOOLEANS = ["include_deleted_data", "include_remote_data", "include_remote_fields", "include_shell_data"] as const;

const pageSize = fc.integer({ min: 1, max: 100 });
const badPageSize = fc.oneof(
  fc.constantFrom<QueryValue>(0, 101, -5, 2.5, "abc", "ten"),
  fc.integer({ min: 101, max: 1_000_000 }),
  fc.integer({ min: -1_000_000, max: 0 }),
  fc.tuple(fc.integer({ min: 1, max: 99 }), fc.constantFrom(0.5, 0.25, 0.1)).map(([n, f]) => n + f),
);
const expand = fc.shuffledSubarray(EXPAND);
const badExpandItem = fc.oneof(
  fc.constantFrom("bogus", "OWNER", "Owner", "accounts", "contact", "remote_fields", "engagement-type"),
  fc.stringMatching(/^[a-z_]{1,12}$/).filter((s) => !EXPAND.includes(s)),
);
const badExpand = fc.oneof(
  fc.tuple(fc.shuffledSubarray(EXPAND), badExpandItem, fc.nat()).map(([items, bad, at]) => {
    const list = [...items];
    list.splice(at % (list.length + 1), 0, bad);
    return list;
  }),
  // Duplicates: the spec says uniqueItems.
  fc.tuple(fc.shuffledSubarray(EXPAND, { minLength: 1 }), fc.nat()).map(([items, at]) => {
    const again = items[at % items.length] ?? "owner";
    return [...items, again];
  }),
);
const flag = fc.boolean();
const badFlag = fc.constantFrom<QueryValue>("yes", "no", "on", "1", 1, 0, 2);

const validEntries: fc.Arbitrary<[string, QueryValue][]> = fc
  .record({
    page_size: fc.option(pageSize),
    expand: fc.option(expand),
    flags: fc.subarray([...BOOLEANS]).chain((names) => fc.tuple(...names.map((n) => flag.map((b): [string, QueryValue] => [n, b])))),
    created_after: fc.option(dateTime),
  })
  .map(({ page_size, expand: ex, flags, created_after }) => {
    const entries: [string, QueryValue][] = [...flags];
    if (page_size !== null) entries.push(["page_size", page_size]);
    if (ex !== null) entries.push(["expand", ex]);
    if (created_after !== null) entries.push(["created_after", created_after]);
    return entries;
  });
const queryFault: fc.Arbitrary<[string, QueryValue]> = fc.oneof(
  badPageSize.map((v): [string, QueryValue] => ["page_size", v]),
  badExpand.map((v): [string, QueryValue] => ["expand", v]),
  fc.tuple(fc.constantFrom(...BOOLEANS), badFlag).map(([n, v]): [string, QueryValue] => [n, v]),
  badDateTime.filter((s) => s !== "").map((v): [string, QueryValue] => ["started_before", v]),
);
const querySample: fc.Arbitrary<Record<string, QueryValue>> = fc
  .oneof(
    validEntries,
    fc
      .tuple(validEntries, fc.array(queryFault, { minLength: 1, maxLength: 2 }))
      .map(([entries, bad]) => [...entries.filter(([k]) => !bad.some(([b]) => b === k)), ...bad]),
  )
  .map((entries) => Object.fromEntries(entries));

// As the client serializes: openapi-fetch with `expand` as ONE comma-joined value.
const serialize = createQuerySerializer({ array: { style: "form", explode: false } });

// ---------------------------------------------------------------------------------------------
// The two judges, and the run that compares them.
// ---------------------------------------------------------------------------------------------

const HEADERS = { Authorization: "Bearer x", "X-Account-Token": "t" };

/** What both sides said about one sample. */
interface Judgement {
  sample: string;
  prismStatus: number;
  slViolations: unknown;
  /** The client's problems, or `null` when validateRequest accepted the request. */
  clientProblems: readonly ValidationIssue[] | null;
}

/** Samples on which the undici transport got another answer from Prism than `fetch` did. */
const transportDifferences: string[] = [];
afterAll(() => undiciFetch().close());

/**
 * Prism's answer to `fetch`: the status and the parsed `sl-violations` header (raw when it is no
 * JSON). The same request goes through the undici transport too; a different answer is recorded.
 */
async function prism(path: string, init: RequestInit): Promise<{ status: number; violations: unknown }> {
  const url = `${prismUrl()}${path}`;
  const [overFetch, overUndici] = await Promise.all([
    answer(await fetch(url, init)),
    answer(await undiciFetch()(new DeferredRequest(url, { ...init, headers: new Headers(init.headers) }))),
  ]);
  if (overFetch.status !== overUndici.status || JSON.stringify(overFetch.violations) !== JSON.stringify(overUndici.violations)) {
    transportDifferences.push(`${init.method ?? "GET"} ${path}: fetch ${JSON.stringify(overFetch)}, undici ${JSON.stringify(overUndici)}`);
  }
  return overFetch;
}

async function answer(response: Response): Promise<{ status: number; violations: unknown }> {
  await response.arrayBuffer();
  const header = response.headers.get("sl-violations");
  let violations: unknown = header;
  if (header !== null) {
    try {
      violations = JSON.parse(header);
    } catch {
      // Keep the raw header.
    }
  }
  return { status: response.status, violations };
}

/** The client's problems, or `null` when it accepts the request. */
function clientProblems(run: () => void): readonly ValidationIssue[] | null {
  try {
    run();
    return null;
  } catch (error) {
    if (error instanceof MergeValidationError) return error.problems;
    throw error;
  }
}

function describeJudgement(what: string, d: Judgement): string {
  return (
    `${what}: ${d.sample}\n` +
    `   Prism: ${d.prismStatus}, sl-violations: ${JSON.stringify(d.slViolations)}\n` +
    `   client: ${d.clientProblems === null ? "accepted (no problems)" : JSON.stringify(d.clientProblems)}`
  );
}

interface Comparison {
  samples: number;
  valid: number;
  disagreements: Judgement[];
  /** Answers that are neither the success status nor 400. */
  unexpected: Judgement[];
  /** On disagreement: the smallest disagreeing sample fast-check shrank to. */
  shrunk: Judgement | undefined;
}

/**
 * Judges `runs` samples of `arbitrary` from the fixed seed, recording every disagreement (rather than
 * stopping at the first, so that the count is real). When there is one, runs the same property again
 * as a failing fast-check property so that it shrinks to a small counterexample.
 */
async function compare<T>(arbitrary: fc.Arbitrary<T>, runs: number, okStatus: number, judge: (sample: T) => Promise<Judgement>): Promise<Comparison> {
  const out: Comparison = { samples: 0, valid: 0, disagreements: [], unexpected: [], shrunk: undefined };
  const disagrees = (j: Judgement) => (j.prismStatus === okStatus) !== (j.clientProblems === null);
  await fc.assert(
    fc.asyncProperty(arbitrary, async (sample) => {
      const j = await judge(sample);
      out.samples += 1;
      if (j.prismStatus === okStatus) out.valid += 1;
      if (j.prismStatus !== okStatus && j.prismStatus !== 400) out.unexpected.push(j);
      if (disagrees(j)) out.disagreements.push(j);
    }),
    { seed: SEED, numRuns: runs, endOnFailure: true },
  );
  if (out.disagreements.length > 0) {
    const details = await fc.check(
      fc.asyncProperty(arbitrary, async (sample) => !disagrees(await judge(sample))),
      { seed: SEED, numRuns: runs, interruptAfterTimeLimit: 20_000 },
    );
    const counterexample = details.counterexample?.[0];
    if (counterexample !== undefined) out.shrunk = await judge(counterexample);
  }
  return out;
}

function report(what: string, result: Comparison, seconds: string): void {
  const { samples, valid, disagreements } = result;
  process.stdout.write(
    `\nproperty: ${samples} samples (${valid} valid, ${samples - valid} invalid), ${disagreements.length} disagreements with Prism,` +
      ` ${transportDifferences.length} answers differing between fetch and undici` +
      ` [${what}, seed ${SEED}, ${seconds} s]\n`,
  );
}

function failureMessage(what: string, result: Comparison): string {
  const list = result.disagreements;
  const shown = list.slice(0, 5).map((d, i) => `#${i + 1} ${describeJudgement(what, d)}`);
  const more = list.length > shown.length ? `\n... and ${list.length - shown.length} more` : "";
  const shrunk = result.shrunk ? `\nshrunk by fast-check to:\n${describeJudgement(what, result.shrunk)}` : "";
  return `${list.length} disagreement(s) with Prism (seed ${SEED}; rerun with PROPERTY_SEED=${SEED}):\n${shown.join("\n")}${more}${shrunk}`;
}

function expectAgreement(what: string, result: Comparison, runs: number): void {
  expect(result.unexpected.map((j) => describeJudgement(what, j))).toEqual([]);
  if (result.disagreements.length > 0) throw new Error(failureMessage(what, result));
  expect(result.samples).toBe(runs);
  expect(transportDifferences).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------------

describe("validateRequest agrees with Prism", () => {
  test("the body generators cover every field of EngagementRequest", () => {
    expect([...FIELD_NAMES].sort()).toEqual([...SPEC_FIELDS].sort());
  });

  test(
    `POST /crm/v1/engagements: ${BODY_RUNS} generated bodies, valid and invalid`,
    async () => {
      const started = Date.now();
      const result = await compare(bodySample, BODY_RUNS, 201, async (body) => {
        const { status, violations } = await prism("/crm/v1/engagements", {
          method: "POST",
          headers: { ...HEADERS, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        const problems = clientProblems(() =>
          validateRequest("engagementsCreate", { body, header: { "X-Account-Token": "t" }, query: {} }, false),
        );
        return { sample: JSON.stringify(body), prismStatus: status, slViolations: violations, clientProblems: problems };
      });
      report("POST /crm/v1/engagements body", result, ((Date.now() - started) / 1000).toFixed(1));
      expectAgreement("body", result, BODY_RUNS);
      // The mix stays balanced, so that both sides of the boundary are exercised.
      expect(result.valid / result.samples).toBeGreaterThanOrEqual(0.35);
      expect(result.valid / result.samples).toBeLessThanOrEqual(0.65);
    },
    TIMEOUT_MS,
  );

  test(
    `GET /crm/v1/engagements: ${QUERY_RUNS} generated queries, valid and invalid`,
    async () => {
      const started = Date.now();
      const result = await compare(querySample, QUERY_RUNS, 200, async (query) => {
        const search = serialize(query);
        const { status, violations } = await prism(`/crm/v1/engagements${search ? `?${search}` : ""}`, { headers: HEADERS });
        const problems = clientProblems(() => validateRequest("engagementsList", { query, header: { "X-Account-Token": "t" } }, false));
        return { sample: `${JSON.stringify(query)} sent as ?${search}`, prismStatus: status, slViolations: violations, clientProblems: problems };
      });
      report("GET /crm/v1/engagements query", result, ((Date.now() - started) / 1000).toFixed(1));
      expectAgreement("query", result, QUERY_RUNS);
      expect(result.valid / result.samples).toBeGreaterThanOrEqual(0.3);
      expect(result.valid / result.samples).toBeLessThanOrEqual(0.7);
    },
    TIMEOUT_MS,
  );
});
