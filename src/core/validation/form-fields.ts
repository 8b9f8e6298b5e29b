/**
 * `describeCreate` and `describeUpdate`: a linked account's meta `request_schema` as a flat list of
 * fields, what an app needs to render a form that follows this account's CRM.
 */

/** One field a linked account's schema names. */
export interface AccountField {
  /** Where it goes in the request body, as in validation problems: `/model/subject`. */
  pointer: string;
  /** Whether its parent object requires it (`/model/linked_account_params/x` is required within `linked_account_params`). */
  required: boolean;
  /** Its JSON types (`["string", "null"]`); empty when the schema does not say. */
  types: string[];
  /** Its `format`, such as `date-time` or `uuid`. */
  format?: string;
  /** The values it accepts, when the CRM limits them. */
  enum?: unknown[];
  /** What the CRM says of it. */
  description?: string;
}

/** What a write accepts for one linked account. */
export interface AccountDescription {
  /** `false` when Merge says writes will fail until the linked account is fixed. */
  canMakeRequest: boolean;
  /** The linked account's status, such as `COMPLETE` or `RELINK_NEEDED`, when Merge gave it. */
  linkedAccountStatus: string | undefined;
  /** Every field the schema names, nested objects flattened, in the schema's order. */
  fields: AccountField[];
  /** The `request_schema` itself. */
  schema: Readonly<Record<string, unknown>>;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Every field under `properties`, depth first, each followed by its own nested fields. */
export function describeFields(schema: Json): AccountField[] {
  const fields: AccountField[] = [];
  const walk = (node: Json, pointer: string, depth: number): void => {
    const properties = node["properties"];
    // Bounded: a schema from the network could nest without end.
    if (!isObject(properties) || depth > 32) return;
    const required = Array.isArray(node["required"]) ? node["required"] : [];
    for (const name of Object.keys(properties)) {
      const sub = properties[name];
      if (!isObject(sub)) continue;
      const type = sub["type"];
      const field: AccountField = {
        pointer: `${pointer}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`,
        required: required.includes(name),
        types: typeof type === "string" ? [type] : Array.isArray(type) ? type.filter((t): t is string => typeof t === "string") : [],
      };
      if (typeof sub["format"] === "string") field.format = sub["format"];
      if (Array.isArray(sub["enum"])) field.enum = [...sub["enum"]];
      if (typeof sub["description"] === "string") field.description = sub["description"];
      fields.push(field);
      walk(sub, field.pointer, depth + 1);
    }
  };
  walk(schema, "", 0);
  return fields;
}
