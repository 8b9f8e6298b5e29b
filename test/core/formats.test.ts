/**
 * FORMATS (src/core/validation/formats.ts) must accept exactly what Prism accepts, so that the client and the mock
 * agree on every value. The references are the very modules Prism runs, loaded from where Prism loads
 * them: ajv-formats 2.1.1 "full" formats (uuid, uri), resolved from @stoplight/prism-http, and Prism's
 * own date-time (which replaces ajv-formats' one). Random and targeted strings from a fixed seed
 * (PROPERTY_SEED=<n> to explore).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { FORMATS, type FormatName } from "../../src/core/validation/formats.js";
import { integerFromEnvironment } from "../support/prism.js";

const SEED = integerFromEnvironment("PROPERTY_SEED", 20_240_611);
const RANDOM_RUNS = 2_000;
const TARGETED_RUNS = 4_000;

// ---------------------------------------------------------------------------------------------
// Prism's checks, required as Prism requires them (untyped CommonJS, narrowed at run time).
// ---------------------------------------------------------------------------------------------

function member(holder: unknown, key: string, what: string): unknown {
  if ((typeof holder !== "object" && typeof holder !== "function") || holder === null || !Object.hasOwn(holder, key)) {
    throw new Error(`${what}: no ${key}`);
  }
  const value: unknown = Object.getOwnPropertyDescriptor(holder, key)?.value;
  return value;
}

/** A reference check as a plain predicate; its answers are checked to be booleans. */
function predicate(value: unknown, what: string): (text: string) => boolean {
  if (value instanceof RegExp) {
    if (value.global || value.sticky) throw new Error(`${what}: a stateful RegExp (flags ${value.flags})`);
    return (text) => value.test(text);
  }
  if (typeof value === "function") {
    return (text) => {
      const answer: unknown = value(text);
      if (typeof answer !== "boolean") throw new Error(`${what} answered ${String(answer)} for ${JSON.stringify(text)}`);
      return answer;
    };
  }
  throw new Error(`${what} is neither a RegExp nor a function`);
}

const PRISM_HTTP_MANIFEST = fileURLToPath(new URL("../../node_modules/@stoplight/prism-http/package.json", import.meta.url));
const requireFromPrism = createRequire(PRISM_HTTP_MANIFEST);
const ajvFormatsVersion = member(requireFromPrism("ajv-formats/package.json"), "version", "ajv-formats/package.json");
/** Where the Prism CLI the tests run finds @stoplight/prism-http. */
const prismHttpOfCli = createRequire(createRequire(import.meta.url).resolve("@stoplight/prism-cli/package.json")).resolve("@stoplight/prism-http/package.json");
const fullFormats = member(requireFromPrism("ajv-formats/dist/formats"), "fullFormats", "ajv-formats/dist/formats");
const dateTimeModule: unknown = requireFromPrism("./dist/validator/validators/dateTime.js");

const PRISM: Readonly<Record<FormatName, (text: string) => boolean>> = {
  uuid: predicate(member(fullFormats, "uuid", "fullFormats"), "fullFormats.uuid"),
  uri: predicate(member(fullFormats, "uri", "fullFormats"), "fullFormats.uri"),
  "date-time": predicate(member(dateTimeModule, "date_time", "prism-http dateTime.js"), "prism-http date_time"),
};

// ---------------------------------------------------------------------------------------------
// Strings.
// ---------------------------------------------------------------------------------------------

const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const stringOf = (alphabet: string, maxLength: number, minLength = 0) => fc.string({ unit: chars(alphabet), minLength, maxLength });

/** Any string: ASCII, and any UTF-16 (lone surrogates included). */
const randomString = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 }));

/** The string with one character replaced, inserted or deleted, at a random place. */
function mutated(base: fc.Arbitrary<string>, alphabet: string): fc.Arbitrary<string> {
  return fc
    .tuple(base, fc.nat(), fc.constantFrom("replace", "insert", "delete"), chars(alphabet))
    .map(([s, n, how, c]) => {
      const at = n % (s.length + 1);
      if (how === "insert") return `${s.slice(0, at)}${c}${s.slice(at)}`;
      if (how === "delete") return `${s.slice(0, at)}${s.slice(at + 1)}`;
      return `${s.slice(0, at)}${c}${s.slice(at + 1)}`;
    });
}

/** The string with something put before or after it. */
function framed(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(base, fc.constantFrom("", " ", "\n", "x", "\u00a0", "\u2028"), fc.constantFrom("", " ", "\n", "\r\n", "x", "0", "\u2028"))
    .map(([s, before, after]) => `${before}${s}${after}`);
}

const HEX = "0123456789abcdefABCDEF";
const uuidStrings = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.mixedCase(fc.uuid()),
  fc.tuple(fc.constantFrom("urn:uuid:", "URN:UUID:", "Urn:Uuid:", "urn:uuid", "urn:", "uuid:", "urn:uuid:urn:uuid:"), fc.uuid()).map(([p, u]) => `${p}${u}`),
  // Groups of any length around 8-4-4-4-12.
  fc
    .tuple(...[8, 4, 4, 4, 12].map((n) => stringOf(HEX, n + 1, Math.max(0, n - 1))))
    .map((groups) => groups.join("-")),
  fc.array(stringOf(HEX, 13, 1), { minLength: 1, maxLength: 7 }).map((groups) => groups.join("-")),
  mutated(fc.uuid(), `${HEX}ghGz-_ :{}`),
  mutated(mutated(fc.uuid(), `${HEX}-`), `${HEX}-xX`),
  framed(fc.uuid()),
  stringOf(`${HEX}-`, 40),
);

const URI_ALPHABET = "abcxyzABCXYZ0189-._~:/?#[]@!$&'()*+,;=%\"<>\\^`{|} \t\u00e9\u4e2d";
const scheme = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("http", "https", "ftp", "urn", "mailto", "file", "tel", "a", "z+y-x.w") },
  { weight: 1, arbitrary: stringOf("aZ09+-._:/ ", 6) },
);
const ipv6 = fc.oneof(
  fc.ipV6(),
  fc.array(stringOf("0123456789abcdefABCDEFg", 5), { minLength: 1, maxLength: 9 }).map((groups) => groups.join(":")),
  fc.tuple(stringOf("0123456789abcdef", 3, 1), stringOf("0123456789abcdef.", 12)).map(([v, rest]) => `v${v}.${rest}`),
);
const host = fc.oneof(
  fc.domain(),
  fc.ipV4(),
  fc.ipV4Extended(),
  ipv6.map((a) => `[${a}]`),
  stringOf("abc09-._~!$&'()*+,;=%:@[] ", 12),
  fc.constant(""),
);
const percent = fc.oneof(stringOf("0123456789abcdefABCDEF", 2, 2).map((h) => `%${h}`), fc.constantFrom("%", "%4", "%zz", "%g0"));
const segment = fc
  .array(fc.oneof({ weight: 5, arbitrary: stringOf("abcAZ09-._~!$&'()*+,;=:@", 1, 1) }, { weight: 1, arbitrary: percent }, { weight: 1, arbitrary: stringOf(" \"<>\\^`{|}[]#?/\u00e9", 1, 1) }), { maxLength: 8 })
  .map((parts) => parts.join(""));
const uriStrings = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withIPv4: true, withIPv6: true, withIPv4Extended: true, withUserInfo: true, withPort: true } }),
  fc.webUrl({ validSchemes: ["ftp", "urn", "z39.50s"] }),
  // scheme ":" ["//" [userinfo "@"] host [":" port]] path ["?" query] ["#" fragment]
  fc
    .record({
      scheme,
      slashes: fc.constantFrom("", "/", "//", "///"),
      userinfo: fc.option(segment.map((u) => `${u}@`), { nil: "" }),
      host,
      port: fc.oneof(fc.constant(""), fc.nat({ max: 99999 }).map((p) => `:${p}`), fc.constantFrom(":", ":x")),
      path: fc.array(segment, { maxLength: 4 }).map((s) => (s.length > 0 ? `/${s.join("/")}` : "")),
      query: fc.option(segment.map((q) => `?${q}`), { nil: "" }),
      fragment: fc.option(segment.map((f) => `#${f}`), { nil: "" }),
    })
    .map((u) => `${u.scheme}:${u.slashes}${u.slashes.startsWith("//") ? `${u.userinfo}${u.host}${u.port}` : ""}${u.path}${u.query}${u.fragment}`),
  // No scheme, or a relative reference.
  fc.tuple(fc.constantFrom("", "/", "//", "./", "../", "#", "?"), segment, segment).map(([a, b, c]) => `${a}${b}/${c}`),
  mutated(fc.webUrl({ withQueryParameters: true, withFragments: true }), URI_ALPHABET),
  framed(fc.webUrl()),
  stringOf(URI_ALPHABET, 30),
);

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
const DATE_TIME_ALPHABET = "0123456789-:.TtZz+- \t\n";
/** An integer in range, often one at the edges. */
const around = (min: number, max: number, edges: readonly number[]) =>
  fc.oneof(fc.integer({ min, max }), fc.constantFrom(...edges));
const zone = fc.oneof(
  fc.constantFrom("", "Z", "z", "+", "-", "Zz", "UTC", "GMT", "+00:00:00"),
  fc
    .tuple(fc.constantFrom("+", "-"), around(0, 30, [0, 19, 20, 23, 24, 25, 29]), around(0, 70, [0, 59, 60, 99]), fc.constantFrom(":", "", "-"), fc.boolean())
    .map(([sign, h, m, colon, withMinutes]) => `${sign}${pad(h)}${withMinutes ? `${colon}${pad(m)}` : ""}`),
  stringOf("0123456789+-:Zz", 6),
);
const dateTimeStrings = fc.oneof(
  fc.date({ min: new Date("0000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()),
  // A well-formed date and time with any zone.
  fc
    .tuple(fc.date({ min: new Date("0000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }), fc.constantFrom("T", "t", " "), zone)
    .map(([d, separator, z]) => `${d.toISOString().slice(0, 10)}${separator}${d.toISOString().slice(11, 23)}${z}`),
  // Every component a little out of range, now and then.
  fc
    .record({
      year: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 9999 }).map((y) => pad(y, 4)) }, { weight: 1, arbitrary: stringOf("0123456789", 6) }),
      month: fc.integer({ min: 0, max: 19 }),
      day: fc.integer({ min: 0, max: 39 }),
      separator: fc.constantFrom("T", "t", " ", "\t", "\n", "\u00a0", "\u2003", "\ufeff", "x", "TT", "", "tT"),
      hour: fc.integer({ min: 0, max: 29 }),
      minute: fc.integer({ min: 0, max: 69 }),
      second: fc.integer({ min: 0, max: 69 }),
      fraction: fc.oneof(fc.constant(""), fc.constant("."), stringOf("0123456789", 10, 1).map((d) => `.${d}`), fc.constant(",5")),
      zone,
    })
    .map((p) => `${p.year}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${p.zone}`),
  // Around the calendar's edges: 28, 29, 30, 31 of every month, leap years and not.
  fc
    .tuple(fc.constantFrom(1900, 2000, 2023, 2024, 2100, 2400, 0, 4, 9996), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 28, max: 32 }), zone)
    .map(([y, m, d, z]) => `${pad(y, 4)}-${pad(m)}-${pad(d)}T12:00:00${z}`),
  // The leap second, and hours at the edges.
  fc
    .tuple(fc.constantFrom(22, 23, 24), fc.constantFrom(58, 59, 60), fc.constantFrom(59, 60, 61), zone)
    .map(([h, m, s, z]) => `2016-12-31T${pad(h)}:${pad(m)}:${pad(s)}${z}`),
  mutated(fc.date({ noInvalidDate: true, min: new Date(0), max: new Date("2100-01-01") }).map((d) => d.toISOString()), DATE_TIME_ALPHABET),
  framed(fc.date({ noInvalidDate: true, min: new Date(0), max: new Date("2100-01-01") }).map((d) => d.toISOString())),
  stringOf(DATE_TIME_ALPHABET, 32),
);

const TARGETED: Readonly<Record<FormatName, fc.Arbitrary<string>>> = { uuid: uuidStrings, uri: uriStrings, "date-time": dateTimeStrings };

/** Strings on which the two are easy to get wrong, checked one by one. */
const EXAMPLES: Readonly<Record<FormatName, readonly string[]>> = {
  uuid: [
    "550e8400-e29b-41d4-a716-446655440000",
    "550E8400-E29B-41D4-A716-446655440000",
    "urn:uuid:550e8400-e29b-41d4-a716-446655440000",
    "URN:UUID:550e8400-e29b-41d4-a716-446655440000",
    "550e8400-e29b-41d4-a716-446655440000\n",
    "{550e8400-e29b-41d4-a716-446655440000}",
    "550e8400e29b41d4a716446655440000",
    "00000000-0000-0000-0000-000000000000",
    "",
  ],
  uri: [
    "https://crm.example.com/engagements/19202938",
    "urn:isbn:0451450523",
    "mailto:someone@example.com",
    "a:b",
    "a:",
    "http:",
    "http://",
    "http:///x",
    "https://[2001:db8::1]:8080/x",
    "https://[v1.x]/",
    "http://user:pass@host:99999/p?q#f",
    "http://example.com/a b",
    "http://example.com/%zz",
    "http://example.com/%C3%A9",
    "http://example.com/é",
    "example.com/x",
    "/relative",
    "//example.com",
    "1http://x",
    "",
  ],
  "date-time": [
    "2022-02-10T00:00:00Z",
    "2022-02-10t00:00:00z",
    "2022-02-10 00:00:00+01:00",
    "2022-02-10T00:00:00+0100",
    "2022-02-10T00:00:00+01",
    "2022-02-10T00:00:00+24:00",
    "2022-02-10T00:00:00+24:59",
    "2022-02-10T00:00:00+25:00",
    "2022-02-10T00:00:00-23:60",
    "2016-12-31T23:59:60Z",
    "2016-12-31T22:59:60+01:00",
    "2020-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2023-02-30T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2022-02-10T00:00:00",
    "2022-02-10T00:00:00.Z",
    "2022-02-10T00:00:00.123456789Z",
    "2022-02-10\t00:00:00Z",
    "2022-02-10\n00:00:00Z",
    "2022-02-10\u00a000:00:00Z",
    "2022-02-10\ufeff00:00:00Z",
    "2022-02-10T00:00:00Z\n",
    "2022-02-10",
    "",
  ],
};

// ---------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------

function disagreement(name: FormatName, text: string): string | undefined {
  const prism = PRISM[name](text);
  const ours = FORMATS[name](text);
  return prism === ours ? undefined : `${name} ${JSON.stringify(text)}: Prism says ${prism ? "valid" : "invalid"}, FORMATS says ${ours ? "valid" : "invalid"}`;
}

/** Runs one property; returns how many strings it judged and how many Prism accepted. */
function agreeOn(name: FormatName, strings: fc.Arbitrary<string>, numRuns: number): { runs: number; valid: number } {
  let runs = 0;
  let valid = 0;
  fc.assert(
    fc.property(strings, (text) => {
      runs += 1;
      if (PRISM[name](text)) valid += 1;
      const problem = disagreement(name, text);
      if (problem !== undefined) throw new Error(problem);
    }),
    { seed: SEED, numRuns },
  );
  return { runs, valid };
}

describe("FORMATS agree with the checks Prism runs", () => {
  test("the references are the ones the Prism CLI loads: its @stoplight/prism-http, with ajv-formats 2.1.1", () => {
    expect(prismHttpOfCli).toBe(PRISM_HTTP_MANIFEST);
    expect(ajvFormatsVersion).toBe("2.1.1");
  });

  describe.each(["uuid", "uri", "date-time"] as const)("%s", (name) => {
    test("the examples", () => {
      const problems = EXAMPLES[name].map((text) => disagreement(name, text)).filter((p) => p !== undefined);
      expect(problems).toEqual([]);
    });

    test(`${RANDOM_RUNS} random strings`, () => {
      const { runs } = agreeOn(name, randomString, RANDOM_RUNS);
      expect(runs).toBe(RANDOM_RUNS);
    });

    test(`${TARGETED_RUNS} targeted strings`, () => {
      const { runs, valid } = agreeOn(name, TARGETED[name], TARGETED_RUNS);
      process.stdout.write(`formats: ${name}: ${runs} targeted strings (${valid} valid, ${runs - valid} invalid), 0 disagreements with Prism [seed ${SEED}]\n`);
      expect(runs).toBe(TARGETED_RUNS);
      // Both sides of the boundary are exercised.
      expect(valid).toBeGreaterThan(runs * 0.15);
      expect(runs - valid).toBeGreaterThan(runs * 0.15);
    });
  });
});
