import { createMergeCrmClient, type ClientOptions } from "../../src/index.js";
import { transportOption } from "./transports.js";

/** The URL of the Prism started by the global setup. */
export function prismUrl(): string {
  const url = process.env["MERGE_PRISM_URL"];
  if (!url) throw new Error("MERGE_PRISM_URL is not set: run the tests through jest (the global setup starts Prism)");
  return url;
}

/**
 * A client of the Prism mock, with strict response checking: Prism's answers must match the spec too.
 * It sends through the transport of the running `eachTransport` block (test/support/transports.ts).
 */
export function prismClient(options: Partial<ClientOptions> = {}) {
  return createMergeCrmClient({
    apiKey: "test-api-key",
    accountToken: "test-account-token",
    baseUrl: prismUrl(),
    validateResponses: "strict",
    ...transportOption(),
    ...options,
  });
}

/** An integer from the environment (to explore with other seeds or sizes), or the default. */
export function integerFromEnvironment(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`);
  return value;
}
