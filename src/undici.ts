/**
 * `merge-crm-engagements/undici`: a `fetch` for the client built on undici's dispatcher `request` API
 * (the HTTP engine inside Node's own `fetch`, without the WHATWG layer on top of it), for Node servers
 * and bulk jobs with many calls in flight (issue 12). It is a layer: it imports nothing of the core but
 * types, and the core does not import it.
 *
 * It takes openapi-fetch's deferred request as it is (see `DEFERRED_REQUEST` below) and answers with a
 * small `Response` whose body is undici's stream, so a call builds neither a `Request` nor a WHATWG
 * `Response` and its body stream. What the client observes is what `fetch` gives it: an aborted
 * signal rejects with the signal's reason (before the request, while waiting, while the body is
 * read), a failure before the response rejects with `TypeError("fetch failed", { cause })` and one
 * while the body is read with `TypeError("terminated", { cause })`, as Node's `fetch` does.
 */
import { createRequire } from "node:module";
import type { Dispatcher } from "undici";
import type * as Undici from "undici";
import type { FetchLike } from "./index.js";

/** Options of {@link createUndiciFetch}. */
export interface UndiciFetchOptions {
  /**
   * Connections per origin (Merge's API is one origin per region). Calls beyond it wait for a free
   * connection.
   * @default unlimited, as Node's `fetch`
   */
  connections?: number;
  /**
   * Keep idle connections open for the next call. `false` closes each connection after its response.
   * @default true
   */
  keepAlive?: boolean;
  /**
   * How long an idle kept-alive connection stays open, in milliseconds (a server's `Keep-Alive: timeout`
   * hint wins when it is shorter).
   * @default 4000 (undici's)
   */
  keepAliveTimeoutMs?: number;
  /**
   * An undici dispatcher of your own (an `Agent`, `Pool`, `ProxyAgent`, `MockAgent`, or one with
   * interceptors) to send every call through. `connections` and the keep-alive options are then yours
   * to set on it, and `close()` leaves it open.
   * @default a new undici `Agent` with the options above
   */
  dispatcher?: Dispatcher;
}

/** The `fetch` {@link createUndiciFetch} returns: give it to `createMergeCrmClient({ fetch })`. */
export interface UndiciFetch extends FetchLike {
  /** The undici dispatcher calls go through. */
  readonly dispatcher: Dispatcher;
  /**
   * Closes the `Agent` this fetch created, once the calls in flight have finished (not a dispatcher you
   * passed in). Idle connections never keep a process alive, so this is only needed to end early.
   */
  close(): Promise<void>;
}

/**
 * The core's opt-in (src/deferred-request.ts): a `fetch` carrying this property `true` is given
 * openapi-fetch's deferred request itself instead of a real `Request`. The request it receives has
 * `url`, `method` and `headers`, and `init` (the `RequestInit` openapi-fetch built: `body` a string
 * or absent, `signal`); a real `Request` (a raw-client middleware's) has no `init` and is read as is.
 */
const DEFERRED_REQUEST = Symbol.for("merge-crm-engagements.deferred-request");

const undici = loadUndici();

function loadUndici(): typeof Undici {
  try {
    // require, not import: a missing package must fail this module's import with the install
    // command, in the ESM build and the CommonJS build alike.
    const loaded: typeof Undici = createRequire(import.meta.url)("undici");
    return loaded;
  } catch (cause) {
    if (typeof cause === "object" && cause !== null && "code" in cause && cause.code === "MODULE_NOT_FOUND") {
      throw new Error("merge-crm-engagements/undici needs undici 7, an optional peer dependency: npm install undici@7", { cause });
    }
    throw cause;
  }
}

/**
 * A `fetch` for `createMergeCrmClient` sending every call through undici's `Agent` (or your
 * dispatcher) with its `request` API: about a third of the cost of Node's global `fetch` per call, and
 * three to four times the calls per second with many in flight (README, "Transports"). Node only
 * (Bun and Deno where their undici support reaches); timeouts, aborts, retries, typed errors and
 * validation behave as with the default `fetch`. Redirects are not followed (Merge's API sends none).
 * Needs `undici` 7: `npm install undici@7`.
 * @example
 * import { createMergeCrmClient } from "merge-crm-engagements";
 * import { createUndiciFetch } from "merge-crm-engagements/undici";
 *
 * const merge = createMergeCrmClient({ apiKey, accountToken, fetch: createUndiciFetch({ connections: 64 }) });
 */
export function createUndiciFetch(options: UndiciFetchOptions = {}): UndiciFetch {
  const own = options.dispatcher === undefined;
  const dispatcher: Dispatcher =
    options.dispatcher ??
    new undici.Agent({
      ...(options.connections === undefined ? {} : { connections: options.connections }),
      ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeoutMs }),
      // undici's way to close a connection after each response (no keep-alive).
      ...(options.keepAlive === false ? { pipelining: 0 } : {}),
    });

  const fetch = async (input: Request): Promise<Response> => {
    const init = "init" in input && typeof input.init === "object" && input.init !== null ? input.init : undefined;
    const signal = init === undefined ? input.signal : "signal" in init && init.signal instanceof AbortSignal ? init.signal : undefined;
    signal?.throwIfAborted();
    const body = init === undefined ? await bodyOf(input) : "body" in init && typeof init.body === "string" ? init.body : await bodyOf(input);
    const { origin, path } = splitUrl(input.url);
    let data: Dispatcher.ResponseData;
    try {
      data = await dispatcher.request({
        origin,
        path,
        method: input.method,
        headers: input.headers,
        body: body ?? null,
        signal: signal ?? null,
      });
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      throw new TypeError("fetch failed", { cause });
    }
    return new UndiciResponse(data, input.url, signal);
  };
  return Object.assign(fetch, {
    [DEFERRED_REQUEST]: true,
    dispatcher,
    close: (): Promise<void> => (own ? dispatcher.close() : Promise.resolve()),
  });
}

/** The body of a request that is not the core's deferred one (a raw-client middleware's `Request`). */
async function bodyOf(request: Request): Promise<Uint8Array | undefined> {
  return request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
}

/** `origin` and `path` (with the query, without a fragment) as undici's `request` takes them. */
function splitUrl(url: string): { origin: string; path: string } {
  const hostStart = url.indexOf("//") + 2;
  let end = hostStart;
  while (end < url.length && url[end] !== "/" && url[end] !== "?" && url[end] !== "#") end++;
  const hash = url.indexOf("#", end);
  const rest = hash === -1 ? url.slice(end) : url.slice(end, hash);
  return { origin: url.slice(0, end), path: rest === "" || rest[0] === "?" ? `/${rest}` : rest };
}

/** Statuses whose response has no body (`new Response` refuses one for them). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A `Response` over undici's response: status, status text and headers as `fetch` gives them; `text`,
 * `json`, `arrayBuffer`, `bytes` and `blob` read undici's body stream directly. `body`, `formData` and
 * `clone` build the WHATWG `Response` on first use (nothing in the client asks for them).
 */
class UndiciResponse implements Response {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected = false;
  readonly type: ResponseType = "basic";
  #data: Dispatcher.ResponseData;
  #signal: AbortSignal | undefined;
  #real: Response | undefined;
  #used = false;

  constructor(data: Dispatcher.ResponseData, url: string, signal: AbortSignal | undefined) {
    this.#data = data;
    this.#signal = signal;
    this.status = data.statusCode;
    this.statusText = data.statusText;
    this.url = url;
    this.headers = new Headers();
    const raw = data.headers;
    for (const name in raw) {
      const value = raw[name];
      if (typeof value === "string") this.headers.append(name, value);
      else if (value !== undefined) for (const each of value) this.headers.append(name, each);
    }
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }
  get bodyUsed(): boolean {
    return this.#real ? this.#real.bodyUsed : this.#used;
  }
  get body(): Response["body"] {
    return this.#toResponse().body;
  }

  text(): Promise<string> {
    return this.#read((body) => body.text());
  }
  json(): Promise<unknown> {
    return this.#read((body) => body.json());
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#read((body) => body.arrayBuffer());
  }
  bytes(): ReturnType<Response["bytes"]> {
    return this.#read(async (body) => new Uint8Array(await body.arrayBuffer()));
  }
  blob(): Promise<Blob> {
    return this.#read(async (body) => new Blob([await body.arrayBuffer()], { type: this.headers.get("content-type") ?? "" }));
  }
  formData(): Promise<FormData> {
    return this.#toResponse().formData();
  }
  clone(): Response {
    return this.#toResponse().clone();
  }

  /** Reads the body once, with `fetch`'s errors: the signal's reason when it aborted, else "terminated". */
  async #read<T>(reader: (body: Dispatcher.ResponseData["body"]) => Promise<T>): Promise<T> {
    if (this.#real) throw new TypeError("Body is unusable: the body stream was taken (response.body)");
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    try {
      return await reader(this.#data.body);
    } catch (cause) {
      if (this.#signal?.aborted) throw this.#signal.reason;
      throw new TypeError("terminated", { cause });
    }
  }

  /** The WHATWG `Response`, built once, over the same body stream. */
  #toResponse(): Response {
    if (this.#real) return this.#real;
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    const init = { status: this.status, statusText: this.statusText, headers: this.headers };
    this.#real = new Response(NULL_BODY.has(this.status) ? null : webStream(this.#data.body), init);
    return this.#real;
  }
}

/** undici's body stream as a WHATWG `ReadableStream`. */
function webStream(body: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done === true) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason: unknown) {
      await chunks.return?.(reason);
    },
  });
}
