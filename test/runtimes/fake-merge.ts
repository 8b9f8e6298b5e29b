/**
 * A small fake of Merge's CRM Engagements API, run by Node for the runtime matrix. It records what each
 * scenario run sent (runs are told apart by their `X-Matrix-Run` header) so the driver can check both
 * sides: what the client reported and what actually reached the server.
 *
 * - `POST /crm/v1/engagements`: 201 with a new id.
 * - `GET /crm/v1/engagements`: `ENGAGEMENT_COUNT` engagements in pages of `page_size`, `next` cursors.
 * - `GET /crm/v1/engagements/{SLOW_ID}`: answered only after `SLOW_MS` (the timeout case).
 * - `GET /crm/v1/engagements/{any other id}`: 404 with an `X-Request-Id`.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export const ENGAGEMENT_COUNT = 10;
export const MISSING_ID = "00000000-0000-4000-8000-000000000404";
export const SLOW_ID = "00000000-0000-4000-8000-000000000408";
export const SLOW_MS = 3_000;

/** The id of the i-th listed engagement. */
export function listedId(index: number): string {
  return `00000000-0000-4000-8000-${String(index + 1).padStart(12, "0")}`;
}

export interface Arrival {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  accountToken: string | undefined;
  idempotencyKey: string | undefined;
  /** The body as sent, for writes. */
  body: unknown;
  /** What the server answered with: status and, for a create, the id it gave. */
  status: number;
  createdId?: string;
}

export interface FakeMerge {
  url: string;
  /** What run `run` sent, in order of arrival. */
  arrivals(run: string): Arrival[];
  close(): Promise<void>;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value : undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let text = "";
  request.setEncoding("utf8");
  for await (const chunk of request) text += String(chunk);
  return text;
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "Content-Type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** A linked account whose CRM requires the activity owner's email (the scenario's account validation check). */
const META_POST = {
  request_schema: {
    type: "object",
    properties: {
      model: {
        type: "object",
        properties: {
          subject: { type: "string", description: "The activity's title" },
          linked_account_params: {
            type: "object",
            properties: { activity_owner_email: { type: "string" } },
            required: ["activity_owner_email"],
          },
        },
        required: ["subject", "linked_account_params"],
      },
    },
  },
  status: { linked_account_status: "COMPLETE", can_make_request: true },
  has_conditional_params: false,
  has_required_linked_account_params: true,
};

export async function startFakeMerge(): Promise<FakeMerge> {
  const runs = new Map<string, Arrival[]>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://fake");
    const text = await readBody(request);
    const arrival: Arrival = {
      method: request.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: header(request, "authorization"),
      accountToken: header(request, "x-account-token"),
      idempotencyKey: header(request, "idempotency-key"),
      body: text === "" ? undefined : (JSON.parse(text) as unknown),
      status: 0,
    };
    const run = header(request, "x-matrix-run") ?? "(no run)";
    runs.set(run, [...(runs.get(run) ?? []), arrival]);
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      arrival.status = status;
      json(response, status, body, headers);
    };

    if (url.pathname === "/crm/v1/engagements" && request.method === "POST") {
      const model = (arrival.body as { model?: { subject?: unknown; direction?: unknown } } | undefined)?.model ?? {};
      arrival.createdId = randomUUID();
      answer(201, { model: { id: arrival.createdId, subject: model.subject, direction: model.direction }, warnings: [], errors: [] });
    } else if (url.pathname === "/crm/v1/engagements" && request.method === "GET") {
      const size = Number(url.searchParams.get("page_size") ?? "100");
      const cursor = url.searchParams.get("cursor");
      const start = cursor === null ? 0 : Number(cursor.replace(/^c/, ""));
      const end = Math.min(start + size, ENGAGEMENT_COUNT);
      const results = Array.from({ length: end - start }, (_, i) => ({ id: listedId(start + i), subject: `engagement ${start + i + 1}` }));
      answer(200, { next: end < ENGAGEMENT_COUNT ? `c${end}` : null, previous: cursor, results });
    } else if (url.pathname === `/crm/v1/engagements/${SLOW_ID}` && request.method === "GET") {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!response.destroyed) answer(200, { id: SLOW_ID, subject: "too late" });
      }, SLOW_MS);
      timers.add(timer);
      response.on("close", () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    } else if (url.pathname === "/crm/v1/engagements/meta/post" && request.method === "GET") {
      answer(200, META_POST);
    } else if (url.pathname.startsWith("/crm/v1/engagements/") && request.method === "GET") {
      answer(404, { detail: "Not found." }, { "X-Request-Id": `req-404-${run}` });
    } else {
      answer(405, { detail: `${request.method ?? ""} ${url.pathname} is not part of the fake` });
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { detail: String(error) });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    arrivals: (run) => runs.get(run) ?? [],
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
