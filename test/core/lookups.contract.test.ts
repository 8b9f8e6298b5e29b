/**
 * The lookup resources (contacts, users, accounts, engagement types) against Prism serving the spec
 * with --errors, over each transport: every query parameter the spec declares is accepted (one it does
 * not, or a value it does not allow, fails), the answers match the spec (strict response checking),
 * and `resolve` finds the mock's examples by email, name and activity type.
 */
import { MergeValidationError } from "../../src/index.js";
import { prismClient } from "../support/prism.js";
import { eachTransport, sendThrough } from "../support/transports.js";

const ID = "a7c55bc6-2940-c80a-848e-bbfacbfdf4f0";

/** A client whose fetch records the URLs it sent. */
function recording() {
  const urls: string[] = [];
  const merge = prismClient({ fetch: (request) => (urls.push(request.url), sendThrough(request)) });
  return { merge, urls };
}

const shared = {
  created_after: new Date("2021-01-01T00:00:00Z"),
  created_before: "2030-01-01T00:00:00Z",
  modified_after: "2021-01-01T00:00:00Z",
  modified_before: new Date("2030-01-01T00:00:00Z"),
  page_size: 100,
  include_deleted_data: false,
  include_remote_data: true,
  include_remote_fields: true,
  include_shell_data: false,
  remote_id: "19202938",
};

eachTransport(() => {
  test("contacts: list with every parameter (emails as one comma-joined value), pages, retrieve, create with its key, meta", async () => {
    const { merge, urls } = recording();
    const page = await merge.contacts.list({ ...shared, email_addresses: ["ada@example.com", "grace@example.com"], phone_numbers: "+14155550100", account_id: ID, expand: ["account", "owner"] });
    expect(page.results?.[0]?.email_addresses?.[0]?.email_address).toBe("ada@example.com");
    const query = new URL(urls[0] ?? "").searchParams;
    expect(query.getAll("email_addresses")).toEqual(["ada@example.com,grace@example.com"]);
    expect(query.get("expand")).toBe("account,owner");
    expect(query.get("created_after")).toBe("2021-01-01T00:00:00.000Z");
    const all = [];
    for await (const contact of merge.contacts.listAll({ page_size: 50 })) all.push(contact);
    expect(all.map((contact) => contact.id)).toEqual([ID]);
    expect((await merge.contacts.retrieve(ID, { expand: ["account"], include_remote_data: true })).id).toBe(ID);
    const created = await merge.contacts.create({ first_name: "Ada", last_name: "Lovelace", email_addresses: [{ email_address: "ada@example.com", email_address_type: "WORK" }] }, { idempotencyKey: "c0ffee00-0000-4000-8000-000000000001" });
    expect(created.model?.id).toEqual(expect.any(String));
    expect((await merge.contacts.metaForCreate()).request_schema).toBeDefined();
  });

  test("users, accounts and engagement types: list with every parameter, listAll, retrieve", async () => {
    const { merge } = recording();
    expect((await merge.users.list({ ...shared, email: "rep@example.com" })).results?.[0]?.email).toBe("rep@example.com");
    const user = (await merge.users.list()).results?.[0];
    expect((await merge.users.retrieve(user?.id ?? "", { include_remote_data: true })).email).toBe("rep@example.com");
    expect((await merge.accounts.list({ ...shared, name: "Acme Inc", owner_id: user?.id ?? "", expand: ["owner"] })).results?.[0]?.name).toBe("Acme Inc");
    const account = (await merge.accounts.list()).results?.[0];
    expect((await merge.accounts.retrieve(account?.id ?? "", { expand: ["owner"] })).name).toBe("Acme Inc");
    const types = [];
    for await (const type of merge.engagementTypes.listAll({ ...shared })) types.push(type);
    expect(types.map((type) => type.activity_type)).toEqual(["CALL"]);
    expect((await merge.engagementTypes.retrieve(types[0]?.id ?? "")).name).toBe("Call");
  });

  test("bad input is refused before anything is sent, by pointer", async () => {
    const { merge, urls } = recording();
    // @ts-expect-error: page_size is a number
    await expect(merge.contacts.list({ page_size: "many" })).rejects.toBeInstanceOf(MergeValidationError);
    await expect(merge.users.retrieve("")).rejects.toThrow(/\/path\/id/);
    // @ts-expect-error: accounts expand only owner
    await expect(merge.accounts.list({ expand: ["contacts"] })).rejects.toThrow(/\/query\/expand/);
    expect(urls).toEqual([]);
  });

  test("resolve on the mock: the quick start's email, owner email, company name and CALL", async () => {
    const { merge } = recording();
    const model = await merge.engagements.resolve({
      subject: "Call",
      contacts: [{ email: "ADA@example.com" }],
      owner: { email: "rep@example.com" },
      account: { name: "Acme Inc" },
      engagement_type: { activity_type: "CALL" },
    });
    expect(model).toMatchObject({ contacts: [ID], owner: expect.any(String), account: expect.any(String), engagement_type: expect.any(String) });
    expect((await merge.engagements.create(model)).model.id).toEqual(expect.any(String));
  });
});
