/**
 * The receiver as a Node `http` / Express handler `(req, res)`, over the Fetch-API one. No `node:`
 * import: it only uses the request and response objects it is given (typed by the little it needs).
 *
 * The raw-body rule: the signature covers the bytes Merge sent, so the handler must read them itself.
 * Mount it before any body parser (`app.post("/webhooks/merge", handler)` ahead of `app.use(express.json())`),
 * or give its route `express.raw({ type: "*\/*", limit: "5mb" })` (its default limit is 100 kB): then
 * `req.body` is those bytes, and they are used.
 * A body already parsed into an object cannot be verified (re-serializing it changes the bytes): the
 * handler then answers 500 and says so through `onError`, so Merge retries once it is fixed.
 */
import { MergeError } from "../index.js";
import { createMergeWebhookHandler, type MergeWebhookHandlerOptions } from "./handler.js";

/** The part of Node's `IncomingMessage` (or Express's `Request`) the adapter reads. */
export interface NodeWebhookRequest extends AsyncIterable<unknown> {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Set by a body parser: bytes (`express.raw`) or text (`express.text`) are used as the raw body. */
  body?: unknown;
  /** `true` once the stream was read to its end (by a body parser). */
  readableEnded?: boolean;
  /** Called when a body over the limit stops being read. */
  pause?(): unknown;
}

/** The part of Node's `ServerResponse` (or Express's `Response`) the adapter writes. */
export interface NodeWebhookResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** The raw-body rule was broken: a parser read the body first. */
export class MergeWebhookRawBodyError extends MergeError {
  override name = "MergeWebhookRawBodyError";
  constructor() {
    super(
      "The webhook body was parsed before the webhook handler (express.json() or similar), so its signature cannot be verified: " +
        "mount the handler before any body parser, or give its route express.raw({ type: \"*/*\" })",
    );
  }
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function requestHeaders(headers: NodeWebhookRequest["headers"]): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    // HTTP/2 pseudo-headers (":method") are not headers to a Request.
    if (name.startsWith(":")) continue;
    out.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return out;
}

/** The request's body as a stream that reads from `req` only as far as it is pulled. */
function bodyStream(req: NodeWebhookRequest): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = req[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(isBytes(value) ? value : encoder.encode(String(value)));
    },
    async cancel() {
      // Stop reading: the rest of an oversized body is never buffered. The 413 answer says
      // `Connection: close`, so the server drops the connection after it instead of draining it.
      req.pause?.();
      await iterator.return?.();
    },
  });
}

/**
 * The Fetch-API handler for Node's `http` and Express: `http.createServer(handler)` or
 * `app.post("/webhooks/merge", handler)`. Same options and answers as `createMergeWebhookHandler`.
 * The returned function never rejects.
 * @example
 * const app = express();
 * app.post("/webhooks/merge", createMergeWebhookNodeHandler({ key: process.env.MERGE_WEBHOOK_KEY!, onEvent }));
 * app.use(express.json()); // after: the webhook route reads its raw body itself
 */
export function createMergeWebhookNodeHandler(options: MergeWebhookHandlerOptions): (req: NodeWebhookRequest, res: NodeWebhookResponse) => Promise<void> {
  const handle = createMergeWebhookHandler(options);
  return async function mergeWebhookNodeHandler(req, res) {
    let response: Response;
    try {
      const method = (req.method ?? "GET").toUpperCase();
      const headers = requestHeaders(req.headers);
      const url = `http://${headers.get("host") ?? "localhost"}${req.url ?? "/"}`;
      let body: BodyInit | null = null;
      if (method !== "GET" && method !== "HEAD") {
        if (isBytes(req.body)) body = new Uint8Array(req.body);
        else if (typeof req.body === "string") body = req.body;
        else if (req.readableEnded === true) {
          const error = new MergeWebhookRawBodyError();
          try {
            options.onError?.(error, { status: 500 });
          } catch {
            // A failing logger must not change the answer.
          }
          response = new Response(JSON.stringify({ message: error.message }), { status: 500, headers: { "content-type": "application/json" } });
          return write(res, response);
        } else body = bodyStream(req);
      }
      const init: RequestInit & { duplex?: "half" } = { method, headers, body };
      // A streamed request body needs `duplex: "half"` in Node's fetch.
      if (body instanceof ReadableStream) init.duplex = "half";
      response = await handle(new Request(url, init));
    } catch {
      response = new Response(JSON.stringify({ message: "The webhook could not be received" }), { status: 500, headers: { "content-type": "application/json" } });
    }
    await write(res, response);
  };
}

async function write(res: NodeWebhookResponse, response: Response): Promise<void> {
  try {
    res.statusCode = response.status;
    response.headers.forEach((value, name) => res.setHeader(name, value));
    res.end(await response.text());
  } catch {
    // The connection went away: nothing left to answer.
  }
}
