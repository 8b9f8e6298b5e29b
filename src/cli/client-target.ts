/**
 * The client that import and worker send with: to Merge's API in a region, to a given URL, or (without
 * MERGE_API_KEY) to the embedded Prism mock, started here. Over undici when it resolves.
 */
import { debuglog } from "node:util";
import { createMergeCrmClient, type FetchLike, type Logger, type MergeCrmClient } from "../index.js";
import type { MockServer } from "../mock/index.js";
import { UsageError, type Target } from "./args.js";
import { messageOf } from "../internal/errors.js";

export const debug = debuglog("merge-crm-engagements");

/** A client for a target, and the mock it started (to close) when the target is the mock. */
export interface Connection {
  merge: MergeCrmClient<"per-call">;
  mock?: MockServer;
}

/**
 * Builds the client for `target` (accountValidation "strict": a row a linked account cannot take is
 * rejected before it is sent). For the mock target it first spawns the embedded Prism mock (a child
 * process, to close); a mock that cannot start is a `UsageError`.
 */
export async function openClientTarget(target: Target, logger: Logger): Promise<Connection> {
  const transport = await undiciTransport();
  debug("transport: %s", transport.fetch ? "undici (merge-crm-engagements/undici)" : "fetch (undici is not installed)");
  if (target.kind === "mock") {
    const { startMockServer } = await import("../mock/index.js");
    let mock: MockServer;
    try {
      mock = await startMockServer();
    } catch (error) {
      throw new UsageError(`MERGE_API_KEY is not set and the embedded mock could not start: ${messageOf(error)}`);
    }
    return { merge: createMergeCrmClient({ apiKey: "mock-api-key", baseUrl: mock.url, accountValidation: "strict", logger, ...transport }), mock };
  }
  if (target.kind === "url") return { merge: createMergeCrmClient({ apiKey: target.apiKey, baseUrl: target.baseUrl, accountValidation: "strict", logger, ...transport }) };
  return { merge: createMergeCrmClient({ apiKey: target.apiKey, region: target.region, accountValidation: "strict", logger, ...transport }) };
}

/**
 * The undici transport when undici resolves (an optional peer: bulk imports keep many calls in flight,
 * where it completes about three times the calls per second of fetch), else the default fetch.
 */
async function undiciTransport(): Promise<{ fetch?: FetchLike }> {
  try {
    const { createUndiciFetch } = await import("../undici/index.js");
    return { fetch: createUndiciFetch() };
  } catch (error) {
    // undici.ts names the install command when undici is missing; anything else is a bug to show.
    if (error instanceof Error && error.message.includes("npm install undici@7")) return {};
    throw error;
  }
}
