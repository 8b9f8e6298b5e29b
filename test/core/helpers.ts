/** A recording `fetch` for unit tests: answers from a function and keeps every request it saw. */
import type { FetchLike } from "../../src/index.js";

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

export interface RecordingFetch {
  fetch: FetchLike;
  requests: RecordedRequest[];
}

export function recordingFetch(answer: (request: RecordedRequest) => Response | Promise<Response>): RecordingFetch {
  const requests: RecordedRequest[] = [];
  return {
    requests,
    fetch: async (input) => {
      const recorded = { method: input.method, url: new URL(input.url), headers: input.headers, body: await input.text() };
      requests.push(recorded);
      return answer(recorded);
    },
  };
}

/** A spec-valid 201 body. */
export const CREATED = {
  model: { id: "550e8400-e29b-41d4-a716-446655440000", subject: "Call from customer", direction: "INBOUND" },
  warnings: [],
  errors: [],
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
