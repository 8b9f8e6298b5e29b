import {
  createMergeCrmClient,
  MergeResponseValidationError,
  MergeServerError,
  MergeValidationError,
  type Engagement,
} from "../../src/index.js";
import { CREATED, json, recordingFetch, type RecordedRequest } from "./helpers.js";

const ID = "550e8400-e29b-41d4-a716-446655440000";

function client(answer: (request: RecordedRequest) => Response | Promise<Response>) {
  const rec = recordingFetch(answer);
  const merge = createMergeCrmClient({ apiKey: "sk_test_key", accountToken: "acct_token", fetch: rec.fetch, maxRetries: 0 });
  return { merge, requests: rec.requests };
}

function engagement(n: number): Engagement {
  return { id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, subject: `engagement ${n}` };
}

/** A fake API with `total` engagements, `pageSize` a page; cursors are the index of the page's first item. */
function pagedApi(total: number, pageSize: number, fail?: { atCursor: string; status: number }) {
  return (request: RecordedRequest): Response => {
    const cursor = request.url.searchParams.get("cursor") ?? "0";
    if (fail && cursor === fail.atCursor) return json(fail.status, { detail: "boom" });
    const start = Number(cursor);
    const results = Array.from({ length: Math.min(pageSize, total - start) }, (_, i) => engagement(start + i));
    const next = start + pageSize < total ? String(start + pageSize) : null;
    return json(200, { next, previous: start === 0 ? null : String(start - pageSize), results });
  };
}

describe("query serialization", () => {
  test("expand is ONE comma-joined value; dates accept Date or string; booleans are true/false", async () => {
    const { merge, requests } = client(() => json(200, { next: null, previous: null, results: [] }));
    await merge.engagements.list({
      expand: ["owner", "account", "contacts", "engagement_type"],
      created_after: new Date("2024-01-02T03:04:05.678Z"),
      modified_before: "2024-02-01T00:00:00Z",
      include_deleted_data: true,
      include_remote_data: false,
      page_size: 100,
    });
    const url = requests[0]?.url;
    expect(url?.pathname).toBe("/api/crm/v1/engagements");
    expect(url?.search).toContain("expand=owner,account,contacts,engagement_type");
    expect(url?.searchParams.getAll("expand")).toEqual(["owner,account,contacts,engagement_type"]);
    expect(url?.searchParams.get("created_after")).toBe("2024-01-02T03:04:05.678Z");
    expect(url?.searchParams.get("modified_before")).toBe("2024-02-01T00:00:00Z");
    expect(url?.searchParams.get("include_deleted_data")).toBe("true");
    expect(url?.searchParams.get("include_remote_data")).toBe("false");
    expect(url?.searchParams.get("page_size")).toBe("100");
  });

  test("every date parameter takes a Date", async () => {
    const { merge, requests } = client(() => json(200, { next: null, previous: null, results: [] }));
    const when = new Date("2023-05-06T07:08:09.000Z");
    const keys = ["created_after", "created_before", "modified_after", "modified_before", "started_after", "started_before"] as const;
    await merge.engagements.list(Object.fromEntries(keys.map((k) => [k, when])));
    for (const key of keys) expect(requests[0]?.url.searchParams.get(key)).toBe("2023-05-06T07:08:09.000Z");
  });

  test("an invalid Date is refused before sending, naming the parameter", async () => {
    const { merge, requests } = client(() => json(200, {}));
    const error: unknown = await merge.engagements.list({ started_after: new Date("nope") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MergeValidationError);
    expect((error as MergeValidationError).problems[0]?.pointer).toBe("/query/started_after");
    expect(requests).toHaveLength(0);
  });

  test("an empty expand and undefined parameters are left out", async () => {
    const { merge, requests } = client((r) =>
      r.url.pathname.endsWith(ID) ? json(200, engagement(1)) : json(200, { next: null, previous: null, results: [] }),
    );
    await merge.engagements.retrieve(ID, { expand: [] });
    await merge.engagements.list({ expand: [] });
    expect(requests[0]?.url.search).toBe("");
    expect(requests[1]?.url.search).toBe("");
  });

  test("retrieve, meta and remote field classes go to their paths with their parameters", async () => {
    const { merge, requests } = client((r) =>
      r.url.pathname.includes("meta")
        ? json(200, { request_schema: {}, has_conditional_params: false, has_required_linked_account_params: false })
        : r.url.pathname.endsWith("remote-field-classes")
          ? json(200, { next: null, previous: null, results: [] })
          : json(200, engagement(1)),
    );
    await merge.engagements.retrieve(ID, { expand: ["contacts"], include_remote_fields: true, include_shell_data: false });
    await merge.engagements.metaForCreate();
    await merge.engagements.metaForUpdate(ID);
    await merge.engagements.remoteFieldClasses({ is_custom: true, is_common_model_field: false, page_size: 10 });
    expect(requests.map((r) => `${r.method} ${r.url.pathname}${r.url.search}`)).toEqual([
      `GET /api/crm/v1/engagements/${ID}?expand=contacts&include_remote_fields=true&include_shell_data=false`,
      "GET /api/crm/v1/engagements/meta/post",
      `GET /api/crm/v1/engagements/meta/patch/${ID}`,
      "GET /api/crm/v1/engagements/remote-field-classes?is_custom=true&is_common_model_field=false&page_size=10",
    ]);
    for (const r of requests) expect(r.headers.get("x-account-token")).toBe("acct_token");
  });

  test("a path id that is not a uuid is refused; with validation off it is still encoded into its segment", async () => {
    const { merge, requests } = client(() => json(200, engagement(1)));
    await expect(merge.engagements.retrieve("../../meta/post")).rejects.toMatchObject({
      name: "MergeValidationError",
      problems: [{ pointer: "/path/id", message: 'must match format "uuid"' }],
    });
    expect(requests).toHaveLength(0);
    const rec = recordingFetch(() => json(200, engagement(1)));
    const loose = createMergeCrmClient({ apiKey: "sk_test_key", accountToken: "acct_token", fetch: rec.fetch, validateRequests: false });
    await loose.engagements.retrieve("../../meta/post");
    expect(rec.requests[0]?.url.pathname).toBe("/api/crm/v1/engagements/..%2F..%2Fmeta%2Fpost");
  });
});

describe("update", () => {
  test("PATCH sends null to clear a field and leaves undefined keys out", async () => {
    const { merge, requests } = client(() => json(200, CREATED));
    const patch = { subject: "Follow-up", end_time: null, content: undefined };
    const result = await merge.engagements.update(ID, patch as unknown as { subject: string; end_time: null }, { isDebugMode: true });
    expect(result).toEqual(CREATED);
    expect(requests[0]?.method).toBe("PATCH");
    expect(requests[0]?.url.toString()).toBe(`https://api.merge.dev/api/crm/v1/engagements/${ID}?is_debug_mode=true`);
    expect(requests[0]?.body).toBe('{"model":{"subject":"Follow-up","end_time":null}}');
  });
});

describe("iterators", () => {
  test("listAll follows next with the other parameters unchanged, one request per page", async () => {
    const { merge, requests } = client(pagedApi(25, 10));
    const seen: string[] = [];
    for await (const e of merge.engagements.listAll({ page_size: 10, expand: ["owner"], include_remote_data: true })) {
      seen.push(e.subject ?? "");
    }
    expect(seen).toHaveLength(25);
    expect(seen[24]).toBe("engagement 24");
    expect(requests.map((r) => r.url.search)).toEqual([
      "?page_size=10&expand=owner&include_remote_data=true",
      "?page_size=10&expand=owner&include_remote_data=true&cursor=10",
      "?page_size=10&expand=owner&include_remote_data=true&cursor=20",
    ]);
  });

  test("pages yields each page; a starting cursor is honoured", async () => {
    const { merge, requests } = client(pagedApi(30, 10));
    const sizes: number[] = [];
    for await (const page of merge.engagements.pages({ cursor: "10" })) sizes.push(page.results.length);
    expect(sizes).toEqual([10, 10]);
    expect(requests.map((r) => r.url.searchParams.get("cursor"))).toEqual(["10", "20"]);
  });

  test("an early break stops fetching", async () => {
    const { merge, requests } = client(pagedApi(1000, 10));
    let count = 0;
    for await (const _ of merge.engagements.listAll()) {
      if (++count === 15) break;
    }
    expect(requests).toHaveLength(2);
  });

  test("pages are fetched lazily: one request before the first item is used", async () => {
    const { merge, requests } = client(pagedApi(100, 10));
    const iterator = merge.engagements.listAll();
    await iterator.next();
    expect(requests).toHaveLength(1);
    await iterator.return();
    expect(requests).toHaveLength(1);
  });

  test("an error mid-walk rejects the iteration with the typed error", async () => {
    const { merge, requests } = client(pagedApi(50, 10, { atCursor: "20", status: 503 }));
    const seen: Engagement[] = [];
    const walk = async () => {
      for await (const e of merge.engagements.listAll()) seen.push(e);
    };
    await expect(walk()).rejects.toBeInstanceOf(MergeServerError);
    expect(seen).toHaveLength(20);
    expect(requests).toHaveLength(3);
  });

  test("a cursor that does not advance fails instead of looping forever", async () => {
    const { merge } = client(() => json(200, { next: "same", previous: null, results: [engagement(1)] }));
    const walk = async () => {
      for await (const _ of merge.engagements.pages()) {
        // walk
      }
    };
    await expect(walk()).rejects.toBeInstanceOf(MergeResponseValidationError);
  });

  test("allRemoteFieldClasses walks every page", async () => {
    const { merge, requests } = client((r) => {
      const cursor = r.url.searchParams.get("cursor");
      return json(200, {
        next: cursor === null ? "p2" : null,
        previous: null,
        results: [{ id: cursor ?? "p1", remote_key_name: `field-${cursor ?? "p1"}` }],
      });
    });
    const names: string[] = [];
    for await (const field of merge.engagements.allRemoteFieldClasses({ is_custom: true })) names.push(field.remote_key_name ?? "");
    expect(names).toEqual(["field-p1", "field-p2"]);
    expect(requests.map((r) => r.url.search)).toEqual(["?is_custom=true", "?is_custom=true&cursor=p2"]);
  });
});
