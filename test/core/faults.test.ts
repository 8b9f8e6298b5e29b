/**
 * Failure semantics against a real local HTTP server that misbehaves on purpose. For every case:
 * exactly one engagement stored, or a typed error that says whether the write may have happened; the
 * number of attempts; the waits between them. A table of the cases is printed at the end.
 */
import {
  createMergeCrmClient,
  MergeApiError,
  MergeBadRequestError,
  MergeConnectionError,
  MergeError,
  MergeRateLimitError,
  MergeResponseValidationError,
  MergeServerError,
  MergeTimeoutError,
  type ClientOptions,
} from "../../src/index.js";
import { currentTransport, eachTransport, transportOption } from "../support/transports.js";
import { FakeMerge, type Behaviour } from "../support/fake-merge.js";

const ID = "550e8400-e29b-41d4-a716-446655440000";
const server = new FakeMerge();
const rows: string[][] = [];
let duplicateWrites = 0;

beforeAll(() => server.start());
afterAll(async () => {
  await server.stop();
  const header = ["transport", "case", "attempts", "waits (ms)", "outcome", "stored", "duplicates"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const table = [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
  process.stdout.write(`\nFault cases against a misbehaving local server:\n${table}\nfaults: ${rows.length} cases (${rows.filter((r) => r[0] === "fetch").length} per transport: fetch, undici), ${duplicateWrites} duplicate writes\n`);
});

function client(options: Partial<ClientOptions> = {}) {
  return createMergeCrmClient({
    apiKey: "sk_fault_test_key",
    accountToken: "acct_fault_test_token",
    baseUrl: server.url,
    initialRetryDelayMs: 20,
    maxRetryDelayMs: 2_000,
    timeoutMs: 300,
    ...transportOption(),
    ...options,
  });
}

interface Outcome {
  result?: unknown;
  error?: unknown;
}

async function run(name: string, script: Behaviour[], call: () => Promise<unknown>): Promise<Outcome & { attempts: number; gaps: number[]; stored: number }> {
  server.reset(script);
  const outcome: Outcome = {};
  try {
    outcome.result = await call();
  } catch (error) {
    outcome.error = error;
  }
  // A hanging request may still be arriving; let the server settle.
  await new Promise((resolve) => setTimeout(resolve, 30));
  const attempts = server.arrivals.length;
  const gaps = server.gaps();
  const stored = server.stored.size;
  const duplicates = Math.max(0, stored - 1);
  duplicateWrites += duplicates;
  const error = outcome.error;
  const described =
    error instanceof MergeError
      ? `${error.name}${error instanceof MergeApiError ? ` ${error.status}` : ""}${error.writeMayHaveHappened ? " (write may have happened)" : " (not written)"}`
      : typeof error === "object" && error !== null && "name" in error && error.name === "AbortError"
        ? "AbortError (the caller's own)"
        : error !== undefined
          ? `untyped ${String(error)}`
          : "success";
  rows.push([currentTransport(), name, String(attempts), gaps.map((g) => Math.round(g)).join(", ") || "-", described, String(stored), String(duplicates)]);
  return { ...outcome, attempts, gaps, stored };
}

eachTransport(() => {
  describe("POST with an idempotency key (the default): retried safely", () => {
    test("429 with Retry-After: 1 waits a second, then succeeds once", async () => {
      const r = await run("429 Retry-After: 1", [{ status: 429, retryAfter: "1" }], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.gaps[0]).toBeGreaterThanOrEqual(950);
      expect(r.stored).toBe(1);
    });

    test("429 with Retry-After as an HTTP date", async () => {
      const at = new Date(Date.now() + 1_000).toUTCString();
      const r = await run("429 Retry-After: <date>", [{ status: 429, retryAfter: at }], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.gaps[0]).toBeGreaterThanOrEqual(0);
      expect(r.gaps[0]).toBeLessThan(1_500);
    });

    test("429 with a long Retry-After is capped by maxRetryDelayMs", async () => {
      const r = await run("429 Retry-After: 120, cap 250", [{ status: 429, retryAfter: "120" }], () =>
        client({ maxRetryDelayMs: 250 }).engagements.create({ subject: "a" }),
      );
      expect(r.error).toBeUndefined();
      expect(r.gaps[0]).toBeGreaterThanOrEqual(240);
      expect(r.gaps[0]).toBeLessThan(1_000);
    });

    test("429 without Retry-After backs off exponentially with jitter", async () => {
      const r = await run("429 x2, no Retry-After", [{ status: 429 }, { status: 429 }], () =>
        client({ initialRetryDelayMs: 100 }).engagements.create({ subject: "a" }),
      );
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(3);
      // first wait in [50, 100], second in [100, 200] (plus scheduling)
      expect(r.gaps[0]).toBeGreaterThanOrEqual(48);
      expect(r.gaps[0]).toBeLessThan(200);
      expect(r.gaps[1]).toBeGreaterThanOrEqual(98);
      expect(r.gaps[1]).toBeLessThan(350);
      expect(r.stored).toBe(1);
    });

    test("429 every time: a typed rate-limit error after maxRetries", async () => {
      const r = await run("429 x3", [{ status: 429 }, { status: 429 }, { status: 429 }], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeInstanceOf(MergeRateLimitError);
      expect(r.attempts).toBe(3);
      expect(r.stored).toBe(0);
      expect((r.error as MergeError).writeMayHaveHappened).toBe(false);
    });

    test.each([500, 502, 503, 504])("%i then success stores one engagement", async (status) => {
      const r = await run(`${status} then ok`, [{ status }], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });

    test("a 5xx after the write was stored: the retry replays it, one engagement", async () => {
      const merge = client();
      const r = await run("500 after the write", ["store-then-500"], () => merge.engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
      expect(server.arrivals[0]?.idempotencyKey).toBeDefined();
      expect(server.arrivals[1]?.idempotencyKey).toBe(server.arrivals[0]?.idempotencyKey);
      const stored = [...server.stored.values()][0];
      expect(r.result).toEqual(JSON.parse(stored?.response ?? "null"));
    });

    test("connection reset before the body was read", async () => {
      const r = await run("reset before body", ["reset-before-body"], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });

    test("connection reset after the write was stored: the retry replays it", async () => {
      const r = await run("reset after the write", ["reset-after-store"], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });

    test("a server that never answers: a typed timeout naming the limit, write may have happened", async () => {
      const r = await run("never answers x3", ["hang", "hang", "hang"], () => client({ timeoutMs: 150 }).engagements.create({ subject: "a" }));
      expect(r.error).toBeInstanceOf(MergeTimeoutError);
      const error = r.error as MergeTimeoutError;
      expect(error.timeoutMs).toBe(150);
      expect(error.message).toContain("timed out after 150 ms");
      expect(error.writeMayHaveHappened).toBe(true);
      expect(error.idempotencyKey).toEqual(expect.any(String));
      expect(r.attempts).toBe(3);
      expect(r.stored).toBe(0);
    });

    test("a server that never answers once, then answers", async () => {
      const r = await run("never answers, then ok", ["hang"], () => client({ timeoutMs: 150 }).engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.gaps[0]).toBeGreaterThanOrEqual(140);
      expect(r.stored).toBe(1);
    });

    test("slow headers within the timeout succeed on the first attempt", async () => {
      const r = await run("slow headers 100 ms", [{ slowMs: 100, store: true }], () => client({ timeoutMs: 1_000 }).engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(1);
      expect(r.stored).toBe(1);
    });

    test("slow headers past the timeout, after the write was stored: the retry replays it", async () => {
      const r = await run("slow headers 600 ms > timeout", [{ slowMs: 600, store: true }], () =>
        client({ timeoutMs: 200 }).engagements.create({ subject: "a" }),
      );
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });

    test("a truncated JSON body after the write: the retry replays it", async () => {
      const r = await run("truncated body", ["truncated"], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });

    test("a 201 whose body is not JSON: a typed error that says the write happened, no retry", async () => {
      const r = await run("201 with invalid JSON", ["invalid-json"], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeInstanceOf(MergeResponseValidationError);
      expect((r.error as MergeError).writeMayHaveHappened).toBe(true);
      expect(r.attempts).toBe(1);
      expect(r.stored).toBe(1);
    });

    test("an HTML error page every time: a typed server error with the page as text", async () => {
      const html = { status: 502, contentType: "text/html", body: "<html><body><h1>502 Bad Gateway</h1></body></html>" };
      const r = await run("HTML 502 x3", [html, html, html], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeInstanceOf(MergeServerError);
      expect((r.error as MergeServerError).body).toBe(html.body);
      expect(r.attempts).toBe(3);
      expect(r.stored).toBe(0);
    });

    test("an empty body every time: a typed server error with body null", async () => {
      const empty = { status: 503, body: "" };
      const r = await run("empty 503 x3", [empty, empty, empty], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeInstanceOf(MergeServerError);
      expect((r.error as MergeServerError).body).toBeNull();
      expect((r.error as MergeError).writeMayHaveHappened).toBe(true);
      expect(r.attempts).toBe(3);
    });

    test("the same key with another body is refused by the server, not retried", async () => {
      const merge = client();
      server.reset([]);
      await merge.engagements.create({ subject: "first" }, { idempotencyKey: "fixed-key-1" });
      const r = await run("same key, other body", ["ok"], async () => {
        await merge.engagements.create({ subject: "first" }, { idempotencyKey: "fixed-key-1" });
        return merge.engagements.create({ subject: "second" }, { idempotencyKey: "fixed-key-1" });
      });
      expect(r.error).toBeInstanceOf(MergeBadRequestError);
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });
  });

  describe("POST without an idempotency key: never retried into a duplicate", () => {
    test("500: no retry, a typed error that says the write may have happened", async () => {
      const r = await run("no key: 500", [{ status: 500 }], () => client().engagements.create({ subject: "a" }, { idempotencyKey: false }));
      expect(r.error).toBeInstanceOf(MergeServerError);
      expect((r.error as MergeError).writeMayHaveHappened).toBe(true);
      expect(r.attempts).toBe(1);
    });

    test("reset after the write: no retry, the error says it may have happened, one engagement", async () => {
      const r = await run("no key: reset after write", ["reset-after-store"], () =>
        client().engagements.create({ subject: "a" }, { idempotencyKey: false }),
      );
      expect(r.error).toBeInstanceOf(MergeConnectionError);
      expect((r.error as MergeError).writeMayHaveHappened).toBe(true);
      expect(r.attempts).toBe(1);
      expect(r.stored).toBe(1);
    });

    test("429 is still retried: Merge refused it before writing", async () => {
      const r = await run("no key: 429 then ok", [{ status: 429 }], () => client().engagements.create({ subject: "a" }, { idempotencyKey: false }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
      expect(r.stored).toBe(1);
    });
  });

  describe("reads, PATCH and other 4xx", () => {
    test("GET 503 then success is retried", async () => {
      const r = await run("GET 503 then ok", [{ status: 503 }], () => client().engagements.list());
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
    });

    test("PATCH 502 then success is retried (idempotent)", async () => {
      const r = await run("PATCH 502 then ok", [{ status: 502 }], () => client().engagements.update(ID, { subject: null }));
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBe(2);
    });

    test.each([400, 401, 403, 404, 409, 422])("%i is not retried", async (status) => {
      const r = await run(`${status}`, [{ status }], () => client().engagements.create({ subject: "a" }));
      expect(r.error).toBeInstanceOf(MergeApiError);
      expect((r.error as MergeApiError).status).toBe(status);
      expect((r.error as MergeError).writeMayHaveHappened).toBe(false);
      expect(r.attempts).toBe(1);
    });

    test("the caller's abort during a backoff rejects with AbortError and stops retrying", async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const r = await run("abort during backoff", [{ status: 503, retryAfter: "5" }], () =>
        client({ maxRetryDelayMs: 10_000 }).engagements.create({ subject: "a" }, { signal: controller.signal }),
      );
      expect(r.error).toMatchObject({ name: "AbortError" });
      expect(r.attempts).toBe(1);
    });

    test("a per-call timeout overrides the client's", async () => {
      const r = await run("per-call timeoutMs 100", ["hang"], () =>
        client({ timeoutMs: 60_000 }).engagements.create({ subject: "a" }, { timeoutMs: 100, maxRetries: 0 }),
      );
      expect(r.error).toBeInstanceOf(MergeTimeoutError);
      expect((r.error as MergeTimeoutError).timeoutMs).toBe(100);
      expect(r.attempts).toBe(1);
    });
  });
});

test("no case stored an engagement twice", () => {
  expect(duplicateWrites).toBe(0);
});

test("both transports give identical outcomes, case by case (attempts, outcome, engagements stored)", () => {
  const outcomes = (transport: string) =>
    rows.filter((row) => row[0] === transport).map(([, name, attempts, , outcome, stored]) => [name, attempts, outcome, stored]);
  expect(outcomes("fetch").length).toBeGreaterThan(30);
  expect(outcomes("undici")).toEqual(outcomes("fetch"));
});
