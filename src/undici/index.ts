/**
 * `merge-crm-engagements/undici`: a `fetch` for the client built on undici's dispatcher API (the
 * `Agent`/`Pool` `dispatch` that undici's own `request` and Node's `fetch` are built on, without the
 * WHATWG layer on top of it), for Node servers and bulk jobs with many calls in flight. It
 * is a layer: it imports nothing of the core but types, and the core does not import it.
 *
 * It takes openapi-fetch's deferred request as it is (see `DEFERRED_REQUEST` below), dispatches it with
 * a handler of its own (`Exchange`) and answers with a small `Response` over the buffered body, so a
 * call builds no `Request`, no WHATWG `Response`, and no body stream: measured, the handler costs about
 * 15 µs less per call than `undici.request`'s stream-based one (BENCHMARKS.md). What the client observes
 * is what `fetch` gives it: an aborted signal rejects with the signal's reason (before the request,
 * while waiting, while the body is read), a failure before the response rejects with
 * `TypeError("fetch failed", { cause })` and one while the body is read with
 * `TypeError("terminated", { cause })`, as Node's `fetch` does.
 *
 * @module merge-crm-engagements/undici
 */
import { createRequire } from "node:module";
import type { Dispatcher } from "undici";
import type * as Undici from "undici";
import type { FetchLike } from "../index.js";
import { concatBytes } from "../internal/bytes.js";

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
 * The core's opt-in (src/core/deferred-request.ts): a `fetch` carrying this property `true` is given
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
 * dispatcher): a create of the client over it takes about 0.6× the time of a hand-written `fetch`
 * call, and about three times the calls per second with 64 in flight (docs/guide/runtimes-and-bundling.md, "Transports"). Node only
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
    // A flat [name, value, ...] list: undici's cheapest header form (iterating a Headers costs more).
    const headers: string[] = [];
    input.headers.forEach((value, name) => headers.push(name, value));
    return new Promise<Response>((resolve, reject) => {
      const exchange = new Exchange(input.url, signal, resolve, reject);
      try {
        dispatcher.dispatch({ origin, path, method: input.method, headers, body: body ?? null }, exchange);
      } catch (cause) {
        exchange.fail(cause);
      }
    });
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

/** `origin` and `path` (with the query, without a fragment) as undici's `dispatch` takes them. */
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
 * One request and its response, as undici's dispatch handler: it resolves the `fetch` promise with the
 * response at its headers, buffers the body (what `text()` and `json()` read in full anyway), and
 * settles everything once, whichever of the end, an error or the signal's abort comes first.
 */
class Exchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #response: UndiciResponse | undefined;
  #chunks: Uint8Array[] = [];
  #settled = false;
  #failure: { error: unknown } | undefined;
  #waiter: { resolve: (bytes: Uint8Array) => void; reject: (error: unknown) => void } | undefined;

  constructor(
    readonly url: string,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (response: Response) => void,
    readonly reject: (error: unknown) => void,
  ) {
    signal?.addEventListener("abort", this.#abort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) controller.abort(new Error("aborted"));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Dispatcher.ResponseData["headers"], statusText?: string): void {
    if (status < 200 || this.#settled) return;
    this.#response = new UndiciResponse(this, status, statusText ?? "", headers);
    this.resolve(this.#response);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Uint8Array): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settle();
    this.#waiter?.resolve(this.#bytes());
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** Ends the exchange with an error: fetch's `TypeError`s, or the signal's reason once it aborted. */
  fail(cause: unknown): void {
    if (this.#settled) return;
    this.#settle();
    const aborted = this.signal?.aborted === true;
    if (this.#response === undefined) {
      this.reject(aborted ? this.signal?.reason : new TypeError("fetch failed", { cause }));
      return;
    }
    const error = aborted ? this.signal?.reason : new TypeError("terminated", { cause });
    this.#failure = { error };
    this.#waiter?.reject(error);
  }

  /** The whole body, once it has arrived. */
  body(): Promise<Uint8Array> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (this.#settled) return Promise.resolve(this.#bytes());
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  readonly #abort = (): void => {
    this.fail(undefined);
    this.#controller?.abort(new Error("aborted"));
  };

  #settle(): void {
    this.#settled = true;
    this.signal?.removeEventListener("abort", this.#abort);
  }

  #bytes(): Uint8Array {
    return concatBytes(this.#chunks);
  }

}

const decoder = new TextDecoder();

/**
 * A `Response` over one exchange: status, status text and headers as `fetch` gives them; `text`,
 * `json`, `arrayBuffer`, `bytes` and `blob` read the buffered body. `body`, `formData` and `clone`
 * build the WHATWG `Response` on first use (nothing in the client asks for them).
 */
class UndiciResponse implements Response {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected = false;
  readonly type: ResponseType = "basic";
  #exchange: Exchange;
  #real: Response | undefined;
  #used = false;

  constructor(exchange: Exchange, status: number, statusText: string, raw: Dispatcher.ResponseData["headers"]) {
    this.#exchange = exchange;
    this.status = status;
    this.statusText = statusText;
    this.url = exchange.url;
    this.headers = new Headers();
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

  async text(): Promise<string> {
    return decoder.decode(await this.#read());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }
  async bytes(): ReturnType<Response["bytes"]> {
    // A copy: undici's chunk may be a view into a larger buffer.
    const bytes = await this.#read();
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return copy;
  }
  async blob(): Promise<Blob> {
    return new Blob([await this.bytes()], { type: this.headers.get("content-type") ?? "" });
  }
  formData(): Promise<FormData> {
    return this.#toResponse().formData();
  }
  clone(): Response {
    return this.#toResponse().clone();
  }

  /** The body, read once, with `fetch`'s errors. */
  #read(): Promise<Uint8Array> {
    if (this.#real) return Promise.reject(new TypeError("Body is unusable: the body stream was taken (response.body)"));
    if (this.#used) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
    this.#used = true;
    return this.#exchange.body();
  }

  /** The WHATWG `Response`, built once, over the same body. */
  #toResponse(): Response {
    if (this.#real) return this.#real;
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    const init = { status: this.status, statusText: this.statusText, headers: this.headers };
    const exchange = this.#exchange;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const bytes = await exchange.body();
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
    });
    this.#real = new Response(NULL_BODY.has(this.status) ? null : stream, init);
    return this.#real;
  }
}
