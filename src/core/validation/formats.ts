/**
 * The string formats the spec uses, checked exactly as Prism checks them (prism-cli 5.14.2 runs
 * @stoplight/prism-http 5.12.0, with ajv-formats 2.1.1,
 * "full" mode, MIT; and Prism's own date-time), so that the client and the mock agree on every value.
 */

const UUID = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

/**
 * RFC 3986 URI, accepting exactly the strings ajv-formats' `uri` accepts (its regex, after
 * http://jmrware.com/articles/2009/uri_regexp/URI_regex.html, behind a test for "/" or ":"), in a
 * shorter regex; test/core/uri-format.test.ts compares the two. Rewritten without changing the language:
 * - ajv's test for "/" or ":" is left out: the scheme's ":" is required anyway;
 * - ajv's character classes written with ranges and `\w` (the same characters: without the `u` flag,
 *   `i` adds no letter beyond ASCII to `\w` or `[a-z]`);
 * - hier-part "//" or "/" authority path-abempty | path-absolute | path-rootless as
 *   "/"? ("/" authority | segment-nz) path-abempty (a lone "/" is "/" and an empty authority);
 * - the IPv4 host left out: reg-name accepts every string of digits and dots;
 * - the IPv6 address as three alternatives instead of nine: 8 pieces without "::", the last two of
 *   which may be an IPv4 address; "::" with at most 7 pieces; "::" with at most 5 pieces and an IPv4
 *   address last. The lookaheads count the runs of hex digits between colons up to the first "." or "]"
 *   (`\b` keeps a run whole), where an IPv4 address adds one run: fewer than 8, and fewer than 7.
 */
const URI =
  /^[a-z][a-z\d+.-]*:\/?(?:\/(?:(?:[\w!$&-.:;=~]|%[0-9a-f]{2})*@)?(?:\[(?:v[0-9a-f]+\.[\w!$&-.:;=~]+|(?:[0-9a-f]{1,4}:){6}(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))|(?!(?::*[0-9a-f]+\b){8})(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?|(?!(?::*[0-9a-f]+\b){7})(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}:)*(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))\]|(?:[\w!$&-.;=~]|%[0-9a-f]{2})*)(?::\d*)?|(?:[\w!$&-.:;=@~]|%[0-9a-f]{2})+)(?:\/(?:[\w!$&-.:;=@~]|%[0-9a-f]{2})*)*(?:\?(?:[\w!$&-/:;=?@~]|%[0-9a-f]{2})*)?(?:#(?:[\w!$&-/:;=?@~]|%[0-9a-f]{2})*)?$/i;

const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const TIME = /^(\d\d):(\d\d):(\d\d)(\.\d+)?(z|[+-]\d\d(?::?\d\d)?)?$/i;
const ZULU = /^[Zz]$/;
const SIGNED = /^[+-]/;
const ISO_8601_OFFSET = /^[+-](?:[01][0-9]|2[0-4])(?::?[0-5][0-9])?$/;

function isDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && leap ? 29 : (DAYS[month] ?? 0));
}

function isTime(text: string, withTimeZone: boolean): boolean {
  const match = TIME.exec(text);
  if (!match) return false;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  const second = Number(match[3]);
  // Prism tests the absent zone as the text "undefined", which no pattern matches.
  const zone = String(match[5]);
  return (
    ((hour <= 23 && minute <= 59 && second <= 59) || (hour === 23 && minute === 59 && second === 60)) &&
    (!withTimeZone || ZULU.test(zone) || (SIGNED.test(zone) && isTime(`${zone.slice(1)}:00`, false)) || ISO_8601_OFFSET.test(zone))
  );
}

/** The format checks, by the spec's `format` name. */
export const FORMATS = {
  uuid: (text: string): boolean => UUID.test(text),
  uri: (text: string): boolean => URI.test(text),
  "date-time": (text: string): boolean => {
    const parts = text.split(/t|\s/i);
    return parts.length === 2 && isDate(parts[0] ?? "") && isTime(parts[1] ?? "", true);
  },
};

export type FormatName = keyof typeof FORMATS;
