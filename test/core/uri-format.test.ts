/**
 * FORMATS.uri (src/core/validation/formats.ts) is a shorter regex than ajv-formats' and must accept exactly the same
 * strings. The oracle below is ajv-formats 2.1.1's own `uri` check, copied verbatim (checked against
 * the file Prism loads); strings are generated from a URI grammar biased toward the parts the rewrite
 * touched: IPv6 literals with and without "::", with too many or too few pieces, with an IPv4 address
 * last (leading zeros, 25x and 2xx numbers), IPvFuture, userinfo, ports, the "a:/[::1]" single-slash
 * authority ajv allows, percent-escapes, query, fragment, and stray characters ("[", "]", ":", and
 * letters that case-fold to ASCII). URI_RUNS=<n> (default 20,000) and PROPERTY_SEED=<n> explore further.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { FORMATS } from "../../src/core/validation/formats.js";
import { integerFromEnvironment } from "../support/prism.js";

const SEED = integerFromEnvironment("PROPERTY_SEED", 20_240_611);
const RUNS = integerFromEnvironment("URI_RUNS", 20_000);

// ajv-formats 2.1.1, dist/formats.js (MIT License, Copyright (c) 2020 Evgeny Poberezkin), after
// http://jmrware.com/articles/2009/uri_regexp/URI_regex.html.
const AJV_NOT_URI_FRAGMENT = /\/|:/;
const AJV_URI =
  /^(?:[a-z][a-z0-9+\-.]*:)(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+)\]|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|(?:[a-z0-9\-._~!$&'()*+,;=]|%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)(?:\?(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?$/i;
const ajvUri = (text: string): boolean => AJV_NOT_URI_FRAGMENT.test(text) && AJV_URI.test(text);

function disagreement(text: string): string | undefined {
  const expected = ajvUri(text);
  const actual = FORMATS.uri(text);
  return expected === actual ? undefined : `${JSON.stringify(text)}: ajv-formats says ${expected ? "valid" : "invalid"}, FORMATS.uri says ${actual ? "valid" : "invalid"}`;
}

// ---------------------------------------------------------------------------------------------
// The grammar. Mostly well-formed pieces, with a defect now and then, so that both answers are common.
// ---------------------------------------------------------------------------------------------

const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const stringOf = (alphabet: string, maxLength: number, minLength = 0) => fc.string({ unit: chars(alphabet), minLength, maxLength });
/** One of the arbitraries, the first `weight` times as often as each of the others. */
const mostly = <T>(weight: number, usual: fc.Arbitrary<T>, ...others: fc.Arbitrary<T>[]) =>
  fc.oneof({ weight, arbitrary: usual }, ...others.map((arbitrary) => ({ weight: 1, arbitrary })));

const HEX = "0123456789abcdefABCDEF";
/** Characters no URI may hold, "[" "]" ":" "%" where they do not belong, and non-ASCII letters that case-fold to ASCII ones. */
const JUNK = "[]:/?#@%. \"<>\\^`{|}\n\t\u00e9\u017f\u212a\u0130\u0131\u2028\ud800";
const UNRESERVED_AND_SUB_DELIMS = "aZ09-._~!$&'()*+,;=";

const h16 = mostly(40, stringOf(HEX, 4, 1), fc.constantFrom("", "12345", "fffff", "00000", "g", "G0", " 1"));
const decOctet = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 255 }).map(String) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 3 })).map(([n, width]) => String(n).padStart(width, "0")) },
  { weight: 1, arbitrary: fc.constantFrom("0", "00", "000", "001", "010", "099", "100", "199", "200", "249", "250", "255", "256", "259", "260", "299", "300", "999", "0255", "1000", "", "a", "1a") },
);
const ipv4 = mostly(
  16,
  fc.array(decOctet, { minLength: 4, maxLength: 4 }).map((octets) => octets.join(".")),
  fc.array(decOctet, { minLength: 1, maxLength: 6 }).map((octets) => octets.join(".")),
  fc.tuple(fc.array(decOctet, { minLength: 4, maxLength: 4 }), fc.constantFrom(".", ":", "..")).map(([octets, dot]) => octets.join(dot)),
);
const pieces = (min: number, max: number) => fc.integer({ min, max }).chain((n) => fc.array(h16, { minLength: n, maxLength: n }));
/** The pieces joined with ":", with the IPv4 address, if any, last. */
const joined = (units: readonly string[], v4: string | undefined): string => [...units, ...(v4 === undefined ? [] : [v4])].join(":");
const ipv6 = fc.oneof(
  // No "::": 8 pieces is right, or 6 and an IPv4 address.
  { weight: 1, arbitrary: fc.tuple(pieces(0, 9), fc.option(ipv4, { nil: undefined, freq: 3 })).map(([units, v4]) => joined(units, v4)) },
  { weight: 2, arbitrary: fc.tuple(pieces(7, 9), fc.option(ipv4, { nil: undefined, freq: 2 })).map(([units, v4]) => joined(v4 === undefined ? units : units.slice(2), v4)) },
  // "::" somewhere among 0 to 9 pieces (7 at most is right, 5 with an IPv4 address), or a wrong separator, or a second "::".
  {
    weight: 5,
    arbitrary: fc
      .record({
        units: pieces(0, 9),
        at: fc.nat(),
        v4: fc.option(ipv4, { nil: undefined, freq: 2 }),
        gap: mostly(20, fc.constant("::"), fc.constantFrom(":", ":::", "::::", "")),
        extra: mostly(20, fc.constant(""), fc.constantFrom("::", ":", "::1", "1::")),
        extraFirst: fc.boolean(),
      })
      .map(({ units, at, v4, gap, extra, extraFirst }) => {
        const k = at % (units.length + 1);
        const address = `${units.slice(0, k).join(":")}${gap}${joined(units.slice(k), v4)}`;
        return extraFirst ? `${extra}${address}` : `${address}${extra}`;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom("::", ":", ":::", "::1", "1::", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "") },
);
const ipFuture = fc
  .record({
    v: mostly(10, fc.constantFrom("v", "V"), fc.constantFrom("w", "", "vv")),
    version: mostly(10, stringOf(HEX, 3, 1), fc.constantFrom("", "g", "x1")),
    dot: mostly(10, fc.constant("."), fc.constantFrom("", ":", "..")),
    rest: mostly(10, stringOf(`${UNRESERVED_AND_SUB_DELIMS}:`, 6, 1), fc.constantFrom("", "%41", "@", "/", "[", "]", "::1", "1.2.3.4")),
  })
  .map(({ v, version, dot, rest }) => `${v}${version}${dot}${rest}`);
const pct = mostly(15, stringOf(HEX, 2, 2).map((hex) => `%${hex}`), fc.constantFrom("%", "%4", "%g0", "%0g", "%%41", "%41%"));
/** A run of characters of the given alphabet, percent-escapes and, now and then, a stray character. */
const run = (alphabet: string, maxLength: number) =>
  fc.array(fc.oneof({ weight: 80, arbitrary: chars(alphabet) }, { weight: 8, arbitrary: pct }, { weight: 1, arbitrary: chars(JUNK) }), { maxLength }).map((parts) => parts.join(""));
const regName = fc.oneof(run(UNRESERVED_AND_SUB_DELIMS, 10), ipv4, fc.constantFrom("example.com", "localhost", "", "1.2.3.4", "256.1.1.1", "1.2.3"));
const host = fc.oneof(
  { weight: 10, arbitrary: ipv6.map((address) => `[${address}]`) },
  { weight: 2, arbitrary: ipFuture.map((future) => `[${future}]`) },
  { weight: 3, arbitrary: regName },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("[", "", "[[", "[v1.x]["), ipv6, fc.constantFrom("]", "", "]]", "]x")).map(([open, address, close]) => `${open}${address}${close}`) },
);
const authority = fc
  .record({
    userinfo: fc.option(run(`${UNRESERVED_AND_SUB_DELIMS}:`, 8).map((user) => `${user}@`), { nil: "", freq: 3 }),
    host,
    port: mostly(12, fc.constant(""), fc.constantFrom(":", ":80", ":8080", ":65536", ":99999999"), fc.constantFrom(":x", "::", ":-1", ": ")),
  })
  .map(({ userinfo, host: h, port }) => `${userinfo}${h}${port}`);
const segment = run(`${UNRESERVED_AND_SUB_DELIMS}:@`, 8);
const path = fc.array(segment, { maxLength: 4 }).map((segments) => segments.map((s) => `/${s}`).join(""));
const scheme = mostly(12, fc.constantFrom("http", "https", "urn", "a", "A1", "z+y-x.w", "HTTP"), fc.constantFrom("", "1a", "a_b", "a b", "-a", "\u017f", "\u212a", "a%41"));
const hierPart = fc.oneof(
  // "//" or, as ajv allows, "/" before an authority.
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom("//", "//", "/"), authority, path).map(([slashes, a, p]) => `${slashes}${a}${p}`) },
  // path-absolute, path-rootless, and authorities behind the wrong number of slashes.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("/", ""), segment, path).map(([slash, first, p]) => `${slash}${first}${p}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("", "///", "\\\\"), authority, path).map(([slashes, a, p]) => `${slashes}${a}${p}`) },
);
const tail = run(`${UNRESERVED_AND_SUB_DELIMS}:@/?`, 6);
const uriLike = fc
  .record({
    scheme,
    colon: mostly(30, fc.constant(":"), fc.constantFrom("", "::", "/")),
    hierPart,
    query: fc.option(tail.map((q) => `?${q}`), { nil: "", freq: 3 }),
    fragment: fc.option(fc.tuple(tail, mostly(10, fc.constant(""), fc.constantFrom("#", "["))).map(([f, extra]) => `#${f}${extra}`), { nil: "", freq: 3 }),
  })
  .map((u) => `${u.scheme}${u.colon}${u.hierPart}${u.query}${u.fragment}`);
/** The string with one character replaced, inserted or deleted. */
const mutated = fc.tuple(uriLike, fc.nat(), fc.constantFrom("replace", "insert", "delete"), chars(`${JUNK}${HEX}:.v`)).map(([s, n, how, c]) => {
  const at = n % (s.length + 1);
  if (how === "insert") return `${s.slice(0, at)}${c}${s.slice(at)}`;
  if (how === "delete") return `${s.slice(0, at)}${s.slice(at + 1)}`;
  return `${s.slice(0, at)}${c}${s.slice(at + 1)}`;
});
const uriStrings = fc.oneof({ weight: 8, arbitrary: uriLike }, { weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: fc.string({ unit: chars(`${JUNK}${HEX}${UNRESERVED_AND_SUB_DELIMS}`), maxLength: 30 }) });

// ---------------------------------------------------------------------------------------------
// Hand-picked cases, with the answer ajv-formats gives.
// ---------------------------------------------------------------------------------------------

const EDGE_CASES: readonly (readonly [string, boolean])[] = [
  // IPv6 without "::": 8 pieces, or 6 and an IPv4 address.
  ["http://[1:2:3:4:5:6:7:8]", true],
  ["http://[1:2:3:4:5:6:7]", false],
  ["http://[1:2:3:4:5:6:7:8:9]", false],
  ["http://[fFfF:0:00:000:0000:aBcD:1:2]", true],
  ["http://[12345:2:3:4:5:6:7:8]", false],
  ["http://[1:2:3:4:5:6:1.2.3.4]", true],
  ["http://[1:2:3:4:5:1.2.3.4]", false],
  ["http://[1:2:3:4:5:6:7:1.2.3.4]", false],
  ["http://[1.2.3.4]", false],
  // With "::": at most 7 pieces, an IPv4 address counting as 2.
  ["http://[::]", true],
  ["http://[::1]", true],
  ["http://[1::]", true],
  ["http://[1::2]", true],
  ["http://[1:2:3:4:5:6:7::]", true],
  ["http://[::2:3:4:5:6:7:8]", true],
  ["http://[1:2:3::4:5:6:7]", true],
  ["http://[1:2:3:4::5:6:7:8]", false],
  ["http://[1:2:3:4:5:6:7:8::]", false],
  ["http://[::1:2:3:4:5:6:7:8]", false],
  ["http://[::ffff:192.168.0.1]", true],
  ["http://[1:2:3:4:5::1.2.3.4]", true],
  ["http://[1:2:3:4:5:6::1.2.3.4]", false],
  ["http://[::1:2:3:4:5:1.2.3.4]", true],
  ["http://[::1:2:3:4:5:6:1.2.3.4]", false],
  ["http://[1:2::3:4:5:1.2.3.4]", true],
  ["http://[1:2::3:4:5:6:1.2.3.4]", false],
  ["http://[1.2.3.4::]", false],
  ["http://[::1.2.3.4:1]", false],
  ["http://[::1.2.3.4::]", false],
  // The malformed "::".
  ["http://[1::2::3]", false],
  ["http://[1:::2]", false],
  ["http://[:::]", false],
  ["http://[::::]", false],
  ["http://[:1::2]", false],
  ["http://[1::2:]", false],
  ["http://[:]", false],
  ["http://[]", false],
  ["http://[:1:2:3:4:5:6:7:8]", false],
  // IPv4 numbers: 0 to 255 in 1 to 3 digits, leading zeros allowed.
  ["http://[::001.099.000.255]", true],
  ["http://[::0.00.000.9]", true],
  ["http://[::249.250.255.199]", true],
  ["http://[::200.201.209.240]", true],
  ["http://[::1.2.3.256]", false],
  ["http://[::260.1.1.1]", false],
  ["http://[::300.1.1.1]", false],
  ["http://[::1.2.3.0255]", false],
  ["http://[::1234.2.3.4]", false],
  ["http://[::12.2.3.4]", true],
  ["http://[::1.2.3]", false],
  ["http://[::1.2.3.4.5]", false],
  ["http://[::1.2..3]", false],
  ["http://[::a.2.3.4]", false],
  // IPvFuture.
  ["http://[v1.x]", true],
  ["http://[V1F.a:b!$&'()*+,;=-._~]", true],
  ["http://[v.x]", false],
  ["http://[v1.]", false],
  ["http://[v1x]", false],
  ["http://[vg.x]", false],
  ["http://[v1.%41]", false],
  ["http://[v1.x@y]", false],
  // The authority behind one slash, which ajv accepts; none or three are not authorities.
  ["a:/[::1]", true],
  ["a:/[::1]:80/p", true],
  ["a:/u@[::1]", true],
  ["a:[::1]", false],
  ["a:///[::1]", false],
  ["a:/[1:2:3:4::5:6:7:8]", false],
  // Userinfo, ports, brackets in the wrong place.
  ["http://u:p@[::1]:80/p?q#f", true],
  ["http://u@p@[::1]", false],
  ["http://[::1]:", true],
  ["http://[::1]:x", false],
  ["http://[::1]]", false],
  ["http://[[::1]]", false],
  ["http://[::1", false],
  ["http://::1]", false],
  ["http://[::1][::1]", false],
  ["http://[::1]#[", false],
  ["http://[::1]/[", false],
  ["http://x[::1]", false],
  // Registered names take what looks like IPv4 addresses, in or out of range.
  ["http://1.2.3.4", true],
  ["http://256.256.256.256:80", true],
  ["http://1.2.3", true],
  // "//" read as "/", an empty authority and a path "/a:b": what follows "//" need not be an authority.
  ["http://a:b", true],
  ["http://a:80:80", true],
  ["http://u@h@", true],
  ["http://a%", false],
  // Percent-escapes.
  ["http://ex%41mple.com/%7e?%7E#%aF", true],
  ["http://ex%4mple.com", false],
  ["http://a/%", false],
  ["http://a/%%41", false],
  ["http://%41:%42@a", true],
  ["a:%41", true],
  // Paths, query, fragment.
  ["a:b", true],
  ["a:", false],
  ["a:/", true],
  ["a://", true],
  ["a:?q", false],
  ["a:#f", false],
  ["a:b?c?d/#e?f/", true],
  ["a:b#c#d", false],
  ["a://h//p//", true],
  ["a:b:c@d/e", true],
  ["a:b/c d", false],
  // Schemes, case, and letters that case-fold to ASCII ones.
  ["HTTP://[::A]/X", true],
  ["a+b-c.d:x", true],
  ["1a:x", false],
  ["a_b:x", false],
  [":x", false],
  ["\u017f:x", false],
  ["\u212a:x", false],
  ["http://\u212a", false],
  ["http://a/\u0130", false],
  ["http://a/\u0131", false],
  ["http://a/\u00e9", false],
  // Line terminators and surroundings.
  ["http://a\n", false],
  ["\nhttp://a", false],
  ["http://a\u2028", false],
  [" http://a", false],
  ["", false],
  ["/", false],
  [":", false],
];

/** Every UTF-16 code unit, put in each place of a URI. */
const SLOTS = [
  "\u0000a:b",
  "a\u0000:b",
  "a:\u0000",
  "a:b\u0000",
  "a:/\u0000",
  "a://u\u0000@h",
  "a://h\u0000",
  "a://h:1\u0000",
  "a://[::\u0000]",
  "a://[1\u0000::]",
  "a://[::1.2.3.\u0000]",
  "a://[v1.\u0000]",
  "a://[v\u0000.x]",
  "a://h/\u0000",
  "a:b?\u0000",
  "a:b#\u0000",
  "a:b%\u00000",
  "a:b%0\u0000",
];

describe("FORMATS.uri accepts exactly what ajv-formats' uri accepts", () => {
  test("the oracle is ajv-formats 2.1.1's regex, as Prism loads it", () => {
    const manifest = fileURLToPath(new URL("../../node_modules/@stoplight/prism-http/package.json", import.meta.url));
    const requireFromPrism = createRequire(manifest);
    expect((requireFromPrism("ajv-formats/package.json") as { version: string }).version).toBe("2.1.1");
    const source = readFileSync(requireFromPrism.resolve("ajv-formats/dist/formats"), "utf8");
    expect(source).toContain(`const NOT_URI_FRAGMENT = ${String(AJV_NOT_URI_FRAGMENT)};`);
    expect(source).toContain(`const URI = ${String(AJV_URI)};`);
    expect(source).toContain("return NOT_URI_FRAGMENT.test(str) && URI.test(str);");
  });

  test.each(EDGE_CASES)("%j: %s", (text, valid) => {
    expect(ajvUri(text)).toBe(valid);
    expect(FORMATS.uri(text)).toBe(valid);
  });

  test("every UTF-16 code unit, in every part of a URI", () => {
    const problems: string[] = [];
    for (const slot of SLOTS) {
      for (let unit = 0; unit <= 0xffff; unit += 1) {
        const problem = disagreement(slot.replace("\u0000", String.fromCharCode(unit)));
        if (problem !== undefined) problems.push(problem);
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
  }, 30_000);

  test(`${RUNS} strings from a URI grammar`, () => {
    let runs = 0;
    let valid = 0;
    let validIpv6 = 0;
    const started = Date.now();
    fc.assert(
      fc.property(uriStrings, (text) => {
        runs += 1;
        if (ajvUri(text)) {
          valid += 1;
          if (/\[[^v]/i.test(text)) validIpv6 += 1;
        }
        const problem = disagreement(text);
        if (problem !== undefined) throw new Error(problem);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    process.stdout.write(
      `uri-format: ${runs} strings (${valid} valid, ${validIpv6} of them with an IPv6 address; ${runs - valid} invalid), 0 disagreements with ajv-formats, ${Date.now() - started} ms [seed ${SEED}]\n`,
    );
    expect(runs).toBe(RUNS);
    // Both answers are common, and valid IPv6 literals are too.
    expect(valid).toBeGreaterThan(runs * 0.2);
    expect(runs - valid).toBeGreaterThan(runs * 0.2);
    expect(validIpv6).toBeGreaterThan(runs * 0.05);
    // A string takes some 12 µs; the time allowed is 1 ms a string, at least 30 s.
  }, Math.max(30_000, RUNS));
});
