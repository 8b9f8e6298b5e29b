/**
 * The runtime matrix's Merge: the shared fake (test/support/fake-merge.ts), run by Node, answering what
 * the scenario asks for. It records what each scenario run sent (runs are told apart by their
 * `X-Matrix-Run` header) so the driver can check both sides: what the client reported and what actually
 * reached the server.
 *
 * - `POST /crm/v1/engagements`: 201 with a new id.
 * - `GET /crm/v1/engagements`: `ENGAGEMENT_COUNT` engagements in pages of `page_size`, `next` cursors.
 * - `GET /crm/v1/engagements/{SLOW_ID}`: answered only after `SLOW_MS` (the timeout case).
 * - `GET /crm/v1/engagements/{any other id}`: 404 with an `X-Request-Id`.
 */
import { FakeMerge, type Arrival, type Behaviour } from "../support/fake-merge.js";

export const ENGAGEMENT_COUNT = 10;
export const MISSING_ID = "00000000-0000-4000-8000-000000000404";
export const SLOW_ID = "00000000-0000-4000-8000-000000000408";
export const SLOW_MS = 3_000;
const PATH = "/crm/v1/engagements";

/** The id of the i-th listed engagement. */
export function listedId(index: number): string {
  return `00000000-0000-4000-8000-${String(index + 1).padStart(12, "0")}`;
}

export interface MatrixArrival {
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

export interface MatrixMerge {
  url: string;
  /** What run `run` sent, in order of arrival. */
  arrivals(run: string): MatrixArrival[];
  close(): Promise<void>;
}

function header(arrival: Arrival, name: string): string | undefined {
  const value = arrival.headers[name];
  return typeof value === "string" ? value : undefined;
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

const runOf = (arrival: Arrival) => header(arrival, "x-matrix-run") ?? "(no run)";

/** The scenario's answers; `undefined` leaves a create and meta/post to the shared fake. */
function answer(arrival: Arrival): Behaviour | undefined {
  const url = new URL(arrival.url, "http://fake");
  const json = (status: number, body: unknown, headers?: Record<string, string>): Behaviour => ({ status, body: JSON.stringify(body), ...(headers && { headers }) });
  if (url.pathname === PATH && arrival.method === "POST") return undefined;
  if (url.pathname === PATH && arrival.method === "GET") {
    const size = Number(url.searchParams.get("page_size") ?? "100");
    const cursor = url.searchParams.get("cursor");
    const start = cursor === null ? 0 : Number(cursor.replace(/^c/, ""));
    const end = Math.min(start + size, ENGAGEMENT_COUNT);
    const results = Array.from({ length: end - start }, (_, i) => ({ id: listedId(start + i), subject: `engagement ${start + i + 1}` }));
    return json(200, { next: end < ENGAGEMENT_COUNT ? `c${end}` : null, previous: cursor, results });
  }
  if (url.pathname === `${PATH}/${SLOW_ID}` && arrival.method === "GET") return { status: 200, body: JSON.stringify({ id: SLOW_ID, subject: "too late" }), afterMs: SLOW_MS };
  if (url.pathname === `${PATH}/meta/post` && arrival.method === "GET") return undefined;
  if (url.pathname.startsWith(`${PATH}/`) && arrival.method === "GET") return json(404, { detail: "Not found." }, { "X-Request-Id": `req-404-${runOf(arrival)}` });
  return json(405, { detail: `${arrival.method} ${url.pathname} is not part of the fake` });
}

function asMatrixArrival(arrival: Arrival): MatrixArrival {
  const url = new URL(arrival.url, "http://fake");
  return {
    method: arrival.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    authorization: header(arrival, "authorization"),
    accountToken: header(arrival, "x-account-token"),
    idempotencyKey: arrival.idempotencyKey,
    body: arrival.body === "" ? undefined : (JSON.parse(arrival.body) as unknown),
    status: arrival.status,
    ...(arrival.createdId !== undefined && { createdId: arrival.createdId }),
  };
}

export async function startMatrixMerge(): Promise<MatrixMerge> {
  const server = new FakeMerge();
  server.meta = META_POST;
  server.answer = answer;
  await server.start();
  return {
    url: server.url,
    arrivals: (run) => server.arrivals.filter((arrival) => runOf(arrival) === run).map(asMatrixArrival),
    close: () => server.stop(),
  };
}
