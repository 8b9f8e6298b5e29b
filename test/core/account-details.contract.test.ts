/**
 * `merge.accountDetails.retrieve()`: against Prism serving the spec (strict response checking, over each
 * transport), the linked account of the mock's example; against the shared fake Merge, the id of each
 * token's linked account, stable per token, and a 401 whose error and log lines never show the token.
 */
import { inspect } from "node:util";
import { createMergeCrmClient, MergeAuthenticationError, type Logger } from "../../src/index.js";
import { accountIdOf, useFakeMerge } from "../support/fake-merge.js";
import { prismClient, prismUrl } from "../support/prism.js";
import { eachTransport, transportOption } from "../support/transports.js";

/** The id of openapi/components/examples/AccountDetails.yaml (the webhook examples' linked_account.id). */
const EXAMPLE_ID = "0b5f6a2e-3c1d-4e8f-9a7b-2c4d6e8f0a1b";

eachTransport(() => {
  test("retrieve answers the mock's linked account, with a client's token or a call's", async () => {
    const details = await prismClient().accountDetails.retrieve();
    expect(details).toMatchObject({ id: EXAMPLE_ID, integration_slug: "hubspot", category: "crm", status: "COMPLETE", is_duplicate: false });
    const perCall = createMergeCrmClient({ apiKey: "test-api-key", baseUrl: prismUrl(), validateResponses: "strict", ...transportOption() });
    expect((await perCall.accountDetails.retrieve({ accountToken: "test-account-token" })).id).toBe(EXAMPLE_ID);
  });
});

describe("against the fake Merge", () => {
  const { server } = useFakeMerge("account-details-");
  const options = () => ({ apiKey: "test-api-key", baseUrl: server.url, validateResponses: "strict", maxRetries: 0 }) as const;

  test("each token gets its linked account's id, the same every time; accountIds sets one", async () => {
    const merge = createMergeCrmClient(options());
    const first = await merge.accountDetails.retrieve({ accountToken: "token-a" });
    const again = await merge.accountDetails.retrieve({ accountToken: "token-a" });
    const other = await merge.accountDetails.retrieve({ accountToken: "token-b" });
    expect(first.id).toBe(accountIdOf("token-a"));
    expect(again.id).toBe(first.id);
    expect(other.id).not.toBe(first.id);
    expect(accountIdOf("token-a")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.stringify(first)).not.toContain("token-a");

    server.accountIds.set("token-c", "3f1c2a9e-7b4d-4c1e-9f2a-6d8e0b1c2d3e");
    expect((await merge.accountDetails.retrieve({ accountToken: "token-c" })).id).toBe("3f1c2a9e-7b4d-4c1e-9f2a-6d8e0b1c2d3e");
    expect(server.arrivals.map((a) => `${a.method} ${a.url} ${a.account} ${a.status}`)).toEqual([
      "GET /crm/v1/account-details token-a 200",
      "GET /crm/v1/account-details token-a 200",
      "GET /crm/v1/account-details token-b 200",
      "GET /crm/v1/account-details token-c 200",
    ]);
    expect(server.lookups()).toEqual([]);
  });

  test.each(["the client's", "the call's"])("a 401 names neither %s token in its error nor in a log line, even when the body echoes it", async (whose) => {
    const TOKEN = "secret-account-token-4711";
    const lines: string[] = [];
    const at = (level: string) => (message: string, details?: Record<string, unknown>) => void lines.push(`${level} ${message} ${inspect(details, { depth: 10 })}`);
    const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
    // A client serving many linked accounts holds no token: each call brings its own.
    const merge = whose === "the client's" ? createMergeCrmClient({ ...options(), accountToken: TOKEN, logger }) : createMergeCrmClient({ ...options(), logger });
    server.answer = () => ({ status: 401, body: JSON.stringify({ detail: `Invalid account token: ${TOKEN}` }) });

    const error: unknown = await merge.accountDetails.retrieve({ accountToken: TOKEN }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MergeAuthenticationError);
    if (!(error instanceof MergeAuthenticationError)) return;
    expect(error.status).toBe(401);
    expect(error.message).toContain("GET");
    expect(error.message).toContain("/crm/v1/account-details");
    expect(server.arrivals.map((a) => a.account)).toEqual([TOKEN]);
    expect(lines.length).toBeGreaterThan(0);
    for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 10 }), String(error.stack), ...lines]) {
      expect(text).not.toContain(TOKEN);
    }
  });
});
