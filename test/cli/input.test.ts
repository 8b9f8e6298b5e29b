import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countRows, csvColumns, csvItem, ENGAGEMENT_FIELDS, formatFromPath, InputError, ndjsonItem, readInput, type InputItem } from "../../src/cli/input.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cli-input-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function items(name: string, text: string, keyField?: string): Promise<InputItem[]> {
  const path = join(dir, name);
  writeFileSync(path, text);
  const format = formatFromPath(path) ?? "ndjson";
  const out: InputItem[] = [];
  for await (const item of readInput(path, keyField === undefined ? { format } : { format, keyField })) out.push(item);
  return out;
}

test("the CSV columns are exactly the fields of EngagementRequest in the spec", () => {
  const spec = JSON.parse(readFileSync(new URL("../../generated/openapi.json", import.meta.url), "utf8")) as {
    components: { schemas: { EngagementRequest: { properties: Record<string, unknown> } } };
  };
  expect([...ENGAGEMENT_FIELDS].sort()).toEqual(Object.keys(spec.components.schemas.EngagementRequest.properties).sort());
});

describe("NDJSON", () => {
  test("bare EngagementRequest lines and envelopes, with line numbers; blank lines skipped but counted", async () => {
    const got = await items(
      "rows.ndjson",
      [
        '{"subject":"Call","direction":"INBOUND"}',
        "",
        '{"model":{"subject":"Meeting","contacts":["c1"]},"account_token":"acct-b","key":"crm-42"}',
        '  {"model":{}}  ',
      ].join("\n"),
    );
    expect(got).toEqual([
      { row: { model: { subject: "Call", direction: "INBOUND" }, line: 1 } },
      { row: { model: { subject: "Meeting", contacts: ["c1"] }, accountToken: "acct-b", key: "crm-42", line: 3 } },
      { row: { model: {}, line: 4 } },
    ]);
  });

  test("a line that is not JSON, not an object, or a bad envelope is invalid, by line, and the rest is read", async () => {
    const got = await items(
      "bad.ndjson",
      ['{"subject":', "[1,2]", '{"model":"x"}', '{"model":{},"account_token":7,"extra":1}', '{"subject":"ok"}'].join("\r\n"),
    );
    expect(got.map((item) => ("invalid" in item ? item.invalid.line : `row ${item.row.line}`))).toEqual([1, 2, 3, 4, "row 5"]);
    const fourth = got[3];
    expect(fourth && "invalid" in fourth ? fourth.invalid.problems.map((p) => p.pointer).sort() : []).toEqual(["/account_token", "/extra"]);
    expect(got[0] && "invalid" in got[0] ? got[0].invalid.problems[0]?.message : "").toMatch(/^is not valid JSON/);
  });

  test("--key names a field: in an envelope, then in the model; a key field that is not an engagement field is not sent", () => {
    expect(ndjsonItem('{"external_id":"e1","subject":"s"}', 1, "external_id")).toEqual({ row: { model: { subject: "s" }, key: "e1", line: 1 } });
    expect(ndjsonItem('{"subject":"s1"}', 2, "subject")).toEqual({ row: { model: { subject: "s1" }, key: "s1", line: 2 } });
    expect(ndjsonItem('{"model":{"subject":"s"},"id":12}', 3, "id")).toEqual({ row: { model: { subject: "s" }, key: "12", line: 3 } });
    expect(ndjsonItem('{"model":{},"key":""}', 4)).toMatchObject({ invalid: { line: 4, problems: [{ pointer: "/key" }] } });
  });
});

describe("CSV", () => {
  test("empty cells are absent, null is null, contacts split on ;, JSON columns and dotted columns, quoted newlines", async () => {
    const got = await items(
      "rows.csv",
      [
        "key,account_token,subject,direction,contacts,start_time,linked_account_params.activity_owner_email,remote_fields",
        'r1,acct-a,"Call, long",INBOUND,c1; c2,2026-01-01T10:00:00Z,o@example.com,"[{""remote_field_class"":""x"",""value"":1}]"',
        "r2,,Meeting,null,,,,",
        "",
        'r3,acct-b,"two',
        'lines",OUTBOUND,,,,',
      ].join("\n"),
    );
    expect(got).toEqual([
      {
        row: {
          model: {
            subject: "Call, long",
            direction: "INBOUND",
            contacts: ["c1", "c2"],
            start_time: "2026-01-01T10:00:00Z",
            linked_account_params: { activity_owner_email: "o@example.com" },
            remote_fields: [{ remote_field_class: "x", value: 1 }],
          },
          accountToken: "acct-a",
          key: "r1",
          line: 2,
        },
      },
      { row: { model: { subject: "Meeting", direction: null }, key: "r2", line: 3 } },
      { row: { model: { subject: "two\nlines", direction: "OUTBOUND" }, accountToken: "acct-b", key: "r3", line: 6 } },
    ]);
  });

  test("a row with the wrong number of cells or a JSON cell that is not JSON is invalid, by line and key", () => {
    const columns = csvColumns(["key", "subject", "integration_params"], undefined);
    expect(csvItem(columns, ["k1", "s"], 5)).toMatchObject({ invalid: { line: 5, key: "k1", problems: [{ pointer: "" }] } });
    expect(csvItem(columns, ["k2", "s", "{nope"], 6)).toMatchObject({ invalid: { line: 6, key: "k2", problems: [{ pointer: "/model/integration_params" }] } });
  });

  test("the header is checked: unknown, repeated or missing --key columns, and a field with its dotted columns", async () => {
    expect(() => csvColumns(["subjet"], undefined)).toThrow(/unknown column 'subjet'/);
    expect(() => csvColumns(["subject", "subject"], undefined)).toThrow(/twice/);
    expect(() => csvColumns(["subject"], "crm_id")).toThrow(/^--key: .* no column 'crm_id'/);
    expect(() => csvColumns(["linked_account_params", "linked_account_params.x"], undefined)).toThrow(/both/);
    expect(csvColumns(["crm_id", "subject"], "crm_id").fill).toEqual([{ kind: "key" }, { kind: "field", field: "subject" }]);
    await expect(items("unknown.csv", "subject,notes\na,b\n")).rejects.toBeInstanceOf(InputError);
    await expect(items("open-quote.csv", 'subject\n"never closed\n')).rejects.toThrow(/open-quote\.csv: .*Quote Not Closed/i);
  });
});

test("countRows counts non-blank lines, less the CSV header, with or without a final newline", async () => {
  const ndjson = join(dir, "count.ndjson");
  writeFileSync(ndjson, "{}\n\n  \r\n{}\r\n{}");
  expect(await countRows(ndjson, "ndjson")).toBe(3);
  const csv = join(dir, "count.csv");
  writeFileSync(csv, "subject\na\nb\n");
  expect(await countRows(csv, "csv")).toBe(2);
  const big = join(dir, "big.ndjson");
  writeFileSync(big, '{"subject":"x"}\n'.repeat(200_000));
  expect(await countRows(big, "ndjson")).toBe(200_000);
});

test("formatFromPath", () => {
  expect(formatFromPath("a.CSV")).toBe("csv");
  expect(formatFromPath("a.jsonl")).toBe("ndjson");
  expect(formatFromPath("a.txt")).toBeUndefined();
});
