import type { FetchLike } from "./request.js";

/**
 * A `Request` that builds the real one only when something asks for it.
 *
 * openapi-fetch builds a `Request` for every call and hands it to `fetch`, which (on Node, in undici)
 * builds a second one from it; that first construction alone made a call about a third slower than a
 * hand-written `fetch(url, init)` in our benchmark (BENCHMARKS.md). openapi-fetch takes the `Request`
 * class as an option: with this one, the default transport calls `fetch(url, init)` from the recorded
 * fields, so a call builds one `Request`, as a hand-written fetch does. Anything else that reads the
 * request (a custom `fetch`, a middleware reading the body) gets the real one, built on first use.
 */
export class DeferredRequest implements Request {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  /** The init openapi-fetch built, as `fetch(url, init)` takes it. */
  readonly init: RequestInit;
  #real: Request | undefined;

  constructor(input: RequestInfo | URL, init: RequestInit = {}) {
    this.url = String(input instanceof Request ? input.url : input);
    this.method = (init.method ?? "GET").toUpperCase();
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.init = { ...init, headers: this.headers };
  }

  /** The real `Request`, built once. */
  toRequest(): Request {
    this.#real ??= new Request(this.url, this.init);
    return this.#real;
  }

  get signal(): AbortSignal {
    return this.init.signal ?? this.toRequest().signal;
  }
  get cache(): RequestCache {
    return this.toRequest().cache;
  }
  get credentials(): RequestCredentials {
    return this.toRequest().credentials;
  }
  get destination(): RequestDestination {
    return this.toRequest().destination;
  }
  get integrity(): string {
    return this.toRequest().integrity;
  }
  get keepalive(): boolean {
    return this.toRequest().keepalive;
  }
  get mode(): RequestMode {
    return this.toRequest().mode;
  }
  get redirect(): RequestRedirect {
    return this.toRequest().redirect;
  }
  get referrer(): string {
    return this.toRequest().referrer;
  }
  get referrerPolicy(): ReferrerPolicy {
    return this.toRequest().referrerPolicy;
  }
  get body(): Request["body"] {
    return this.toRequest().body;
  }
  get bodyUsed(): boolean {
    return this.toRequest().bodyUsed;
  }
  clone(): Request {
    return this.toRequest().clone();
  }
  arrayBuffer(): ReturnType<Request["arrayBuffer"]> {
    return this.toRequest().arrayBuffer();
  }
  blob(): Promise<Blob> {
    return this.toRequest().blob();
  }
  bytes(): ReturnType<Request["bytes"]> {
    return this.toRequest().bytes();
  }
  formData(): Promise<FormData> {
    return this.toRequest().formData();
  }
  json(): Promise<unknown> {
    return this.toRequest().json();
  }
  text(): Promise<string> {
    return this.toRequest().text();
  }
}

/**
 * The transport behind every call: a deferred request goes out as `fetch(url, init)` (one `Request`
 * built, inside fetch); a caller's own `fetch` receives a real `Request`, unless it carries the
 * property `Symbol.for("merge-crm-engagements.deferred-request")`: such a fetch (the
 * `merge-crm-engagements/undici` transport) is given the `DeferredRequest` itself and reads `url`,
 * `method`, `headers` and `init` (`body` a string or absent, `signal`) without a `Request` being built.
 * A symbol from the registry, so a layer opts in without importing this module.
 */
export function transportFetch(custom: FetchLike | undefined): FetchLike {
  if (custom) {
    return Symbol.for("merge-crm-engagements.deferred-request") in custom
      ? custom
      : (input) => custom(input instanceof DeferredRequest ? input.toRequest() : input);
  }
  return (input) => (input instanceof DeferredRequest ? globalThis.fetch(input.url, input.init) : globalThis.fetch(input));
}
