/**
 * listAll over a real local HTTP server holding 1,000 engagements (Prism cannot chain cursors: its
 * static example has `next: null`). Checks one request per page, the parameters kept unchanged on
 * every page, and that pages are fetched lazily, so memory holds one page at a time.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMergeCrmClient } from "../../src/index.js";

const TOTAL = 1000;
const PAGE_SIZE = 37;

let server: Server;
let baseUrl: string;
const seen: URL[] = [];

function page(request: IncomingMessage): unknown {
  const url = new URL(request.url ?? "/", "http://localhost");
  seen.push(url);
  const start = Number(url.searchParams.get("cursor") ?? "0");
  const size = Number(url.searchParams.get("page_size") ?? "100");
  const end = Math.min(start + size, TOTAL);
  const results = [];
  for (let i = start; i < end; i++) {
    results.push({ id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, subject: `engagement ${i}`, direction: i % 7 === 0 ? "UNKNOWN_NEW_VALUE" : "INBOUND" });
  }
  return { next: end < TOTAL ? String(end) : null, previous: start > 0 ? String(start - size) : null, results };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(page(request)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

test("listAll walks 1,000 engagements, one request per page, parameters unchanged", async () => {
  const merge = createMergeCrmClient({ apiKey: "k-test-0000", accountToken: "t-test-0000", baseUrl });
  const query = { page_size: PAGE_SIZE, expand: ["owner" as const, "account" as const], modified_after: new Date("2024-01-01T00:00:00Z") };
  let count = 0;
  let unknownDirections = 0;
  let maxRequestsAhead = 0;
  for await (const engagement of merge.engagements.listAll(query)) {
    expect(engagement.subject).toBe(`engagement ${count}`);
    if (engagement.direction === "UNKNOWN_NEW_VALUE") unknownDirections++;
    count++;
    // Lazy: the client never has more than the page being read in flight.
    maxRequestsAhead = Math.max(maxRequestsAhead, seen.length - Math.ceil(count / PAGE_SIZE));
  }
  expect(count).toBe(TOTAL);
  expect(unknownDirections).toBe(Math.ceil(TOTAL / 7));
  expect(seen).toHaveLength(Math.ceil(TOTAL / PAGE_SIZE));
  expect(maxRequestsAhead).toBe(0);
  seen.forEach((url, i) => {
    expect(url.searchParams.get("page_size")).toBe(String(PAGE_SIZE));
    expect(url.searchParams.get("expand")).toBe("owner,account");
    expect(url.searchParams.get("modified_after")).toBe("2024-01-01T00:00:00.000Z");
    expect(url.searchParams.get("cursor")).toBe(i === 0 ? null : String(i * PAGE_SIZE));
  });
});
