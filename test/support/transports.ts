/**
 * The contract, fault and property suites run once per transport (issue 12): Node's global `fetch`
 * (the default) and `merge-crm-engagements/undici`. `eachTransport` wraps a file's suites in
 * `describe.each`; the helpers below read which transport the running block chose, so a suite's
 * clients (`prismClient`, the fault suite's `client`) and its hand-made fetch wrappers send through it.
 */
import type { FetchLike } from "../../src/index.js";
import { createUndiciFetch, type UndiciFetch } from "../../src/undici/index.js";

export type TransportName = "fetch" | "undici";
export const TRANSPORTS: readonly TransportName[] = ["fetch", "undici"];

let current: TransportName = "fetch";
let undici: UndiciFetch | undefined;

/** The transport of the block running now. */
export function currentTransport(): TransportName {
  return current;
}

/** The client option for the current transport: `{}` (the default fetch) or `{ fetch: undici }`. */
export function transportOption(): { fetch?: FetchLike } {
  return current === "undici" ? { fetch: undiciFetch() } : {};
}

/** Sends a real `Request` through the current transport (for a test's own fetch wrapper). */
export function sendThrough(request: Request): Promise<Response> {
  return current === "undici" ? undiciFetch()(request) : fetch(request);
}

/** One undici fetch per test file (one Agent), closed after the file's last block. */
export function undiciFetch(): UndiciFetch {
  undici ??= createUndiciFetch();
  return undici;
}

/** Runs `suites` once per transport, each block labelled with its transport's name. */
export function eachTransport(suites: (transport: TransportName) => void): void {
  describe.each(TRANSPORTS)("over %s", (transport) => {
    beforeAll(() => {
      current = transport;
    });
    suites(transport);
  });
  afterAll(async () => {
    await undici?.close();
    undici = undefined;
    current = "fetch";
  });
}
