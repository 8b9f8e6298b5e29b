/**
 * The CLI's input: rows of an NDJSON or CSV file, streamed (constant memory at any file size), each
 * with its line number. This module only turns text into rows; whether a row's fields are valid is
 * decided by `bulkCreate`'s validation, which names each problem by its JSON pointer.
 */
import { createReadStream } from "node:fs";
import { access, constants } from "node:fs/promises";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseCsv } from "csv-parse";
import type { EngagementInput, ValidationIssue } from "../index.js";
import { messageOf } from "../internal/errors.js";

/** The input formats: `--format`. */
export type InputFormat = "csv" | "ndjson";

/** A row ready for `bulkCreate` (the shape of its `BulkRow`). */
export interface InputRow {
  model: EngagementInput;
  accountToken?: string;
  key?: string;
  line: number;
}

/** A line that is not a row at all (not JSON, not an object, a cell that is not JSON, ...). */
export interface InvalidInput {
  line: number;
  key?: string;
  problems: ValidationIssue[];
}

export type InputItem = { row: InputRow } | { invalid: InvalidInput };

/** A problem with the whole file or the options (a CSV header naming an unknown column): exit code 2. */
export class InputError extends Error {
  override name = "InputError";
}

/** How rows are read. */
export interface InputOptions {
  format: InputFormat;
  /**
   * The field (NDJSON) or column (CSV) holding each row's key. NDJSON defaults to the envelope's
   * `key`, CSV to a `key` column; without one, `bulkCreate` derives the key itself.
   */
  keyField?: string;
}

/**
 * The writable fields of `EngagementRequest` (a unit test holds this list to the spec): the columns a
 * CSV header may name.
 */
export const ENGAGEMENT_FIELDS = [
  "owner",
  "content",
  "subject",
  "direction",
  "engagement_type",
  "start_time",
  "end_time",
  "account",
  "contacts",
  "engagement_url",
  "integration_params",
  "linked_account_params",
  "remote_fields",
] as const;

/** Fields whose CSV cell holds JSON text (objects and arrays of objects). */
const JSON_FIELDS = new Set<string>(["integration_params", "linked_account_params", "remote_fields"]);
/** Fields a CSV header may also fill key by key: `linked_account_params.activity_owner_email`. */
const DOTTED_FIELDS = new Set<string>(["integration_params", "linked_account_params"]);
/**
 * Columns that name a reference (`engagements.resolve`): the field it fills and the key it is named
 * by. `contacts.*` cells hold several values separated by `;`.
 */
const REFERENCE_COLUMNS: Readonly<Record<string, { field: ReferenceField; by: string }>> = {
  "contacts.email": { field: "contacts", by: "email" },
  "contacts.remote_id": { field: "contacts", by: "remote_id" },
  "owner.email": { field: "owner", by: "email" },
  "owner.remote_id": { field: "owner", by: "remote_id" },
  "account.name": { field: "account", by: "name" },
  "account.remote_id": { field: "account", by: "remote_id" },
  "engagement_type.activity_type": { field: "engagement_type", by: "activity_type" },
  "engagement_type.name": { field: "engagement_type", by: "name" },
  "engagement_type.remote_id": { field: "engagement_type", by: "remote_id" },
};
type ReferenceField = "contacts" | "owner" | "account" | "engagement_type";
const REFERENCE_FIELDS = new Set<string>(["owner", "account", "engagement_type"]);
const FIELDS = new Set<string>(ENGAGEMENT_FIELDS);

/** The format named by the file's extension: `.csv`, or `.ndjson` / `.jsonl` / `.json`. */
export function formatFromPath(path: string): InputFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".ndjson" || extension === ".jsonl" || extension === ".json") return "ndjson";
  return undefined;
}

/**
 * The rows of a file, in order, read as they are consumed. A CSV header is checked before the first
 * row is yielded: an unknown or repeated column throws `InputError`, as does a quote left open.
 */
export function readInput(path: string, options: InputOptions): AsyncGenerator<InputItem, void, undefined> {
  return options.format === "csv" ? readCsv(path, options.keyField) : readNdjson(path, options.keyField);
}

async function* readNdjson(path: string, keyField: string | undefined): AsyncGenerator<InputItem, void, undefined> {
  const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      // A byte order mark may open the first line of a file saved by an editor.
      const trimmed = (line === 1 ? text.replace(/^\uFEFF/, "") : text).trim();
      if (trimmed === "") continue;
      yield ndjsonItem(trimmed, line, keyField);
    }
  } finally {
    lines.close();
  }
}

/** One NDJSON line: a bare `EngagementRequest`, or `{ model, account_token?, key? }`. */
export function ndjsonItem(text: string, line: number, keyField?: string): InputItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { invalid: { line, problems: [{ pointer: "", message: `is not valid JSON (${messageOf(error)})` }] } };
  }
  if (!isObject(value)) return { invalid: { line, problems: [{ pointer: "", message: "must be a JSON object (an EngagementRequest, or { model, account_token?, key? })" }] } };
  if ("model" in value && !isObject(value["model"])) return { invalid: { line, problems: [{ pointer: "/model", message: "must be an object (an EngagementRequest)" }] } };
  const envelope = "model" in value ? value : undefined;
  const model = envelope ? (value["model"] as Record<string, unknown>) : { ...value };
  const problems: ValidationIssue[] = [];
  let key: string | undefined;
  let accountToken: string | undefined;
  if (envelope) {
    for (const name of Object.keys(envelope)) {
      if (name !== "model" && name !== "account_token" && name !== "key" && name !== keyField) {
        problems.push({ pointer: `/${escapePointer(name)}`, message: "is not a field of a row: a row is { model, account_token?, key? }" });
      }
    }
    const token = envelope["account_token"];
    if (token !== undefined && token !== null && (typeof token !== "string" || token === "")) problems.push({ pointer: "/account_token", message: "must be a non-empty string" });
    else if (typeof token === "string") accountToken = token;
  }
  const keySource = keyField ?? "key";
  const keyValue = envelope ? (envelope[keySource] ?? (keyField === undefined ? undefined : model[keyField])) : keyField === undefined ? undefined : model[keyField];
  if (keyValue !== undefined && keyValue !== null) {
    if ((typeof keyValue === "string" && keyValue !== "") || (typeof keyValue === "number" && Number.isFinite(keyValue))) key = String(keyValue);
    else problems.push({ pointer: `/${escapePointer(keySource)}`, message: "is the row's key and must be a non-empty string or a number" });
  }
  // A key field that is not an engagement field is the file's own, not the engagement's: not sent.
  if (!envelope && keyField !== undefined && !FIELDS.has(keyField)) delete model[keyField];
  if (problems.length > 0) return { invalid: key === undefined ? { line, problems } : { line, key, problems } };
  return { row: makeRow(model, line, accountToken, key) };
}

async function* readCsv(path: string, keyField: string | undefined): AsyncGenerator<InputItem, void, undefined> {
  const parser = createReadStream(path).pipe(
    parseCsv({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
  );
  let columns: CsvColumns | undefined;
  try {
    for await (const entry of parser as AsyncIterable<unknown>) {
      const { record, line } = csvEntry(entry);
      if (!columns) {
        columns = csvColumns(record, keyField, path);
        continue;
      }
      yield csvItem(columns, record, line);
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    // csv-parse's errors (a quote left open, ...) name their line: the file cannot be read past it.
    throw new InputError(`${path}: ${messageOf(error)}`);
  } finally {
    parser.destroy();
  }
}

function csvEntry(entry: unknown): { record: string[]; line: number } {
  if (!isObject(entry) || !Array.isArray(entry["record"]) || !isObject(entry["info"]) || typeof entry["info"]["lines"] !== "number") {
    throw new InputError("csv-parse returned a record without its info");
  }
  return { record: entry["record"].map(String), line: entry["info"]["lines"] };
}

/** What each CSV column fills. */
export interface CsvColumns {
  names: string[];
  fill: (
    | { kind: "field"; field: string }
    | { kind: "dotted"; field: string; name: string }
    | { kind: "reference"; field: ReferenceField; by: string }
    | { kind: "account_token" }
    | { kind: "key" }
  )[];
}

/** Reads a CSV header: every column must be an engagement field, `FIELD.NAME`, `account_token` or the key. */
export function csvColumns(header: string[], keyField: string | undefined, path = "the CSV file"): CsvColumns {
  const fill: CsvColumns["fill"] = [];
  const seen = new Set<string>();
  const keyColumn = keyField ?? "key";
  for (const raw of header) {
    const name = raw.trim();
    if (seen.has(name)) throw new InputError(`${path}: the header names the column '${name}' twice`);
    seen.add(name);
    const dot = name.indexOf(".");
    const parent = dot > 0 ? name.slice(0, dot) : "";
    if (name === keyColumn) fill.push({ kind: "key" });
    else if (name === "account_token") fill.push({ kind: "account_token" });
    else if (FIELDS.has(name)) fill.push({ kind: "field", field: name });
    else if (REFERENCE_COLUMNS[name] !== undefined) fill.push({ kind: "reference", ...REFERENCE_COLUMNS[name] });
    else if (DOTTED_FIELDS.has(parent) && dot < name.length - 1) fill.push({ kind: "dotted", field: parent, name: name.slice(dot + 1) });
    else {
      throw new InputError(
        `${path}: unknown column '${name}' in the header (columns are EngagementRequest fields, account_token, ${keyField === undefined ? "key" : `the --key column '${keyField}'`}, linked_account_params.NAME or integration_params.NAME, and the references ${Object.keys(REFERENCE_COLUMNS).join(", ")})`,
      );
    }
  }
  if (keyField !== undefined && !seen.has(keyField)) throw new InputError(`--key: ${path} has no column '${keyField}'`);
  for (const entry of fill) {
    if (entry.kind === "dotted" && seen.has(entry.field)) throw new InputError(`${path}: the header has both '${entry.field}' and '${entry.field}.${entry.name}'; use one or the other`);
  }
  return { names: header.map((name) => name.trim()), fill };
}

/**
 * One CSV record. An empty cell leaves its field out; the text `null` sends `null`; `contacts` holds
 * ids separated by `;`; `integration_params`, `linked_account_params` and `remote_fields` hold JSON;
 * `linked_account_params.NAME` fills one key of that object with the cell's text.
 */
export function csvItem(columns: CsvColumns, record: string[], line: number): InputItem {
  const problems: ValidationIssue[] = [];
  const model: Record<string, unknown> = {};
  let accountToken: string | undefined;
  let key: string | undefined;
  if (record.length !== columns.fill.length) {
    problems.push({ pointer: "", message: `has ${record.length} cells where the header names ${columns.fill.length} columns` });
  }
  columns.fill.forEach((fill, index) => {
    const cell = record[index] ?? "";
    if (cell === "") return;
    const value = cell === "null" ? null : cell;
    switch (fill.kind) {
      case "key":
        key = cell;
        // `--key subject`: the key is also an engagement field, and sent.
        if (FIELDS.has(columns.names[index] ?? "")) model[columns.names[index] ?? ""] = value;
        return;
      case "account_token":
        if (value !== null) accountToken = value;
        return;
      case "dotted": {
        const parent = model[fill.field];
        const object = isObject(parent) ? parent : {};
        object[fill.name] = value;
        model[fill.field] = object;
        return;
      }
      case "reference": {
        if (fill.field === "contacts") {
          if (value === null) return;
          const named = value.split(";").map((text) => text.trim()).filter((text) => text !== "").map((text) => ({ [fill.by]: text }));
          model["contacts"] = [...(Array.isArray(model["contacts"]) ? model["contacts"] : []), ...named];
          return;
        }
        const current = model[fill.field];
        if (typeof current === "string" || (current === null && value !== null)) {
          problems.push({ pointer: `/model/${fill.field}`, message: `has both the column '${fill.field}' and '${columns.names[index] ?? ""}': give one` });
          return;
        }
        model[fill.field] = value === null ? null : { ...(isObject(current) ? current : {}), [fill.by]: value };
        return;
      }
      case "field":
        if (value === null) model[fill.field] = null;
        else if (fill.field === "contacts") {
          // Ids, with the contacts other columns name by reference.
          const ids = value.split(";").map((id) => id.trim()).filter((id) => id !== "");
          model[fill.field] = [...ids, ...(Array.isArray(model["contacts"]) ? model["contacts"] : [])];
        } else if (REFERENCE_FIELDS.has(fill.field) && model[fill.field] !== undefined) {
          problems.push({ pointer: `/model/${fill.field}`, message: `has both the column '${fill.field}' and a '${fill.field}.*' reference: give one` });
        } else if (JSON_FIELDS.has(fill.field)) {
          try {
            model[fill.field] = JSON.parse(value);
          } catch {
            problems.push({ pointer: `/model/${fill.field}`, message: "must be JSON text in a CSV cell (an object, or for remote_fields an array)" });
          }
        } else model[fill.field] = value;
        return;
    }
  });
  if (problems.length > 0) return { invalid: key === undefined ? { line, problems } : { line, key, problems } };
  return { row: makeRow(model, line, accountToken, key) };
}

function makeRow(model: Record<string, unknown>, line: number, accountToken: string | undefined, key: string | undefined): InputRow {
  // The fields are checked against the spec (and the linked account's schema) by bulkCreate, which
  // rejects the row by pointer: this module only shapes the text into an object.
  const row: InputRow = { model: model as EngagementInput, line };
  if (accountToken !== undefined) row.accountToken = accountToken;
  if (key !== undefined) row.key = key;
  return row;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * Opens a file's rows and reads the first, so that a CSV's header is checked before anything is done
 * with them: rejects with `InputError` when the file cannot be read that far.
 */
export async function openInput(path: string, options: InputOptions): Promise<{ input: AsyncGenerator<InputItem, void, undefined>; first: IteratorResult<InputItem, void> }> {
  const input = readInput(path, options);
  return { input, first: await input.next() };
}

/** A command's FILE, opened: its rows (the first already read) and their number, counted ahead. */
export interface OpenedInputFile {
  input: AsyncGenerator<InputItem, void, undefined>;
  first: IteratorResult<InputItem, void>;
  total: number;
}

/**
 * Opens the FILE of `import` or `enqueue`: a file that cannot be read is an `InputError` naming FILE,
 * as is a CSV header naming an unknown column (both are checked before anything is sent).
 */
export async function openInputFile(path: string, options: InputOptions): Promise<OpenedInputFile> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new InputError(`FILE: cannot read '${path}'`);
  }
  const { input, first } = await openInput(path, options);
  return { input, first, total: await countRows(path, options.format) };
}

/** The options of `readInput` for a command's `--format` and `--key`. */
export function inputOptionsOf(command: { format: InputFormat; keyField?: string }): InputOptions {
  return command.keyField === undefined ? { format: command.format } : { format: command.format, keyField: command.keyField };
}

/**
 * The number of rows in a file, counted fast (newlines, not parsing) so the progress bar has a total:
 * non-blank lines, less the header for CSV. A CSV cell holding a newline makes it an overestimate.
 */
export async function countRows(path: string, format: InputFormat): Promise<number> {
  let rows = 0;
  let lineHasText = false;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!lineHasText) {
        for (let i = start; i < end; i++) {
          const byte = chunk[i];
          if (byte !== 32 && byte !== 9 && byte !== 13) {
            lineHasText = true;
            break;
          }
        }
      }
      if (newline === -1) break;
      if (lineHasText) rows += 1;
      lineHasText = false;
      start = newline + 1;
    }
  }
  if (lineHasText) rows += 1;
  return format === "csv" ? Math.max(0, rows - 1) : rows;
}
