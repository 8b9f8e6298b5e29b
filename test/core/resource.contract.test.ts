/**
 * Every operation of the Engagements resource, with every query parameter, against Prism serving the
 * spec with --errors: a parameter the spec does not declare, or a value it does not allow, fails.
 */
import { createMergeCrmClient, MergeBadRequestError, type FetchLike } from "../../src/index.js";
import { prismClient, prismUrl } from "../support/prism.js";
import { eachTransport, sendThrough, transportOption } from "../support/transports.js";

const ID = "550e8400-e29b-41d4-a716-446655440000";

/** A fetch that asks Prism for a named example (`Prefer: example=...`) and records the URLs it sent. */
function preferring(example?: string): { fetch: FetchLike; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (request) => {
      urls.push(request.url);
      if (!example) return sendThrough(request);
      const headers = new Headers(request.headers);
      headers.set("Prefer", `example=${example}`);
      return sendThrough(new Request(request, { headers }));
    },
  };
}

function client(fetch?: FetchLike, validateRequests = true) {
  return prismClient({ validateRequests, ...(fetch ? { fetch } : {}) });
}

eachTransport(() => {
  describe("engagements against Prism", () => {
    test("list with every query parameter", async () => {
      const rec = preferring();
      const page = await client(rec.fetch).engagements.list({
        created_after: new Date("2021-01-01T00:00:00Z"),
        created_before: "2030-01-01T00:00:00Z",
        modified_after: new Date("2021-01-01T00:00:00Z"),
        modified_before: "2030-01-01T00:00:00Z",
        started_after: new Date("2021-01-01T00:00:00Z"),
        started_before: "2030-01-01T00:00:00Z",
        cursor: "cD0yMDIxLTAxLTA2KzAzJTNBMjQlM0E1My40MzQzMjYlMkIwMCUzQTAw",
        page_size: 100,
        expand: ["account", "contacts", "engagement_type", "owner"],
        include_deleted_data: true,
        include_remote_data: true,
        include_remote_fields: true,
        include_shell_data: false,
        remote_id: "19202938",
      });
      expect(page.next).toBeNull();
      expect(page.results[0]?.id).toBe(ID);
      expect(new URL(rec.urls[0] ?? "").searchParams.get("expand")).toBe("account,contacts,engagement_type,owner");
    });

    test("a page_size over 100 is refused by the spec: by the client before sending, and by Prism", async () => {
      await expect(client().engagements.list({ page_size: 101 })).rejects.toMatchObject({
        name: "MergeValidationError",
        problems: [{ pointer: "/query/page_size", message: "must be <= 100" }],
      });
      await expect(client(undefined, false).engagements.list({ page_size: 101 })).rejects.toBeInstanceOf(MergeBadRequestError);
    });

    test("listAll and pages walk Prism's single page", async () => {
      const ids: string[] = [];
      for await (const e of client().engagements.listAll({ page_size: 10 })) ids.push(e.id ?? "");
      expect(ids).toEqual([ID]);
      let pages = 0;
      for await (const _ of client().engagements.pages()) pages++;
      expect(pages).toBe(1);
    });

    test("retrieve with every query parameter returns a bare Engagement", async () => {
      const engagement = await client().engagements.retrieve(ID, {
        expand: ["owner", "account"],
        include_remote_data: true,
        include_remote_fields: true,
        include_shell_data: true,
      });
      expect(engagement.id).toBe(ID);
      expect(engagement.owner).toBe("0358cbc6-2040-430a-848e-aafacbadf3aa");
    });

    test("retrieve with expand: relations come back as objects and the types accept them", async () => {
      const rec = preferring("expanded");
      const engagement = await client(rec.fetch).engagements.retrieve(ID, {
        expand: ["owner", "account", "engagement_type", "contacts"],
      });
      const owner = engagement.owner;
      expect(typeof owner === "object" && owner !== null ? owner.email : owner).toBe("hello@merge.dev");
      const type = engagement.engagement_type;
      expect(typeof type === "object" && type !== null ? type.activity_type : type).toBe("CALL");
      const contact = engagement.contacts?.[0];
      expect(typeof contact === "object" ? contact.first_name : contact).toBe("Gil");
    });

    test("retrieve with an id that is not a uuid is refused: by the client, and by Prism", async () => {
      await expect(client().engagements.retrieve("19202938")).rejects.toMatchObject({ problems: [{ pointer: "/path/id" }] });
      await expect(client(undefined, false).engagements.retrieve("19202938")).rejects.toBeInstanceOf(MergeBadRequestError);
    });

    test("update sends null to clear a field, with the write flags", async () => {
      const { model, warnings, errors } = await client().engagements.update(
        ID,
        { end_time: null, subject: "Call from customer (follow-up)", direction: "OUTBOUND" },
        { isDebugMode: true, runAsync: false },
      );
      expect(model.id).toBe(ID);
      expect(Array.isArray(warnings) && Array.isArray(errors)).toBe(true);
    });

    test("update with a field the spec forbids is refused", async () => {
      const bad = { direction: "UPWARD" } as unknown as { direction: "INBOUND" };
      await expect(client().engagements.update(ID, bad)).rejects.toMatchObject({ problems: [{ pointer: "/model/direction" }] });
      await expect(client(undefined, false).engagements.update(ID, bad)).rejects.toBeInstanceOf(MergeBadRequestError);
    });

    test("metaForCreate and metaForUpdate return a MetaResponse", async () => {
      const post = await client().engagements.metaForCreate();
      expect(post.request_schema).toHaveProperty("type", "object");
      expect(post.status?.can_make_request).toBe(true);
      const patch = await client().engagements.metaForUpdate(ID);
      expect(typeof patch.has_required_linked_account_params).toBe("boolean");
    });

    test("remoteFieldClasses with every query parameter, and allRemoteFieldClasses", async () => {
      const query = {
        cursor: "cD0yMDIx",
        page_size: 50,
        include_deleted_data: false,
        include_remote_data: true,
        include_remote_fields: true,
        include_shell_data: false,
        is_common_model_field: true,
        is_custom: false,
      };
      const page = await client().engagements.remoteFieldClasses(query);
      expect(page.results[0]?.field_type).toBe("string");
      const all = [];
      for await (const field of client().engagements.allRemoteFieldClasses({ is_custom: true })) all.push(field);
      expect(all).toHaveLength(1);
    });

    test("every read needs the account token: a per-call client without one is refused before sending", async () => {
      const merge = createMergeCrmClient({ apiKey: "test-api-key", baseUrl: prismUrl(), ...transportOption() });
      await expect(merge.engagements.metaForCreate({ accountToken: "per-call" })).resolves.toHaveProperty("request_schema");
      const forgetful = merge.engagements.metaForCreate as () => Promise<unknown>;
      await expect(forgetful()).rejects.toMatchObject({ name: "MergeValidationError" });
    });
  });
});
