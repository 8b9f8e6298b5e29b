/**
 * The eight ways of making the same create call, each as `{ id, label, create() }`. Every one sends
 * POST /crm/v1/engagements with Authorization, X-Account-Token, Idempotency-Key (a fresh UUIDv4 per
 * call: our client makes its own, the others get one from crypto.randomUUID() in the call) and the
 * JSON body `{ model }`, over a kept-alive connection, reads the whole 201 body as JSON and returns it.
 * None retries.
 *
 * Our client is the BUILT package (dist/ ESM entry, as snapshotted to bench/.dist/ by run.mjs), with
 * the openapi-fetch it depends on; "bare openapi-fetch" is that same openapi-fetch copy (the repo's
 * node_modules), without our layer.
 */
import { Pool } from "undici";
import createClient from "openapi-fetch";
import { MergeClient } from "@mergeapi/merge-node-client";
import { createMergeCrmClient } from "../.dist/index.js";
import { createUndiciFetch } from "../.dist/undici.js";
import { ACCOUNT_TOKEN, API_KEY, MODEL, PATH, sdkModel } from "./fixtures.mjs";

export const CLIENT_IDS = ["fetch", "undici", "openapi-fetch", "ours", "ours-undici", "ours-account", "ours-novalidate", "merge-sdk"];

export const LABELS = {
  fetch: "raw fetch (by hand)",
  undici: "undici.request (Pool)",
  "openapi-fetch": "bare openapi-fetch",
  ours: "ours, validation on",
  "ours-undici": "ours, undici transport, validation on",
  "ours-account": "ours, account validation strict (warm cache)",
  "ours-novalidate": "ours, validation off",
  "merge-sdk": "@mergeapi/merge-node-client",
};

function fail(what, status) {
  throw new Error(`${what}: unexpected status ${status}`);
}

/** Builds every client against `origin` (http://127.0.0.1:port). */
export function makeClients(origin) {
  const url = `${origin}${PATH}`;

  const rawFetch = async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${API_KEY}`,
        "X-Account-Token": ACCOUNT_TOKEN,
        "Idempotency-Key": crypto.randomUUID(),
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ model: MODEL }),
    });
    if (!response.ok) fail("fetch", response.status);
    return response.json();
  };

  // A Pool keeps its connections alive (one per call in flight, no upper bound: like fetch's agent).
  const pool = new Pool(origin);
  const undiciRequest = async () => {
    const { statusCode, body } = await pool.request({
      path: PATH,
      method: "POST",
      headers: {
        authorization: `Bearer ${API_KEY}`,
        "x-account-token": ACCOUNT_TOKEN,
        "idempotency-key": crypto.randomUUID(),
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: MODEL }),
    });
    if (statusCode !== 201) {
      await body.dump();
      fail("undici", statusCode);
    }
    return body.json();
  };

  const bare = createClient({
    baseUrl: origin,
    headers: { Authorization: `Bearer ${API_KEY}`, "X-Account-Token": ACCOUNT_TOKEN },
  });
  const bareOpenapiFetch = async () => {
    const { data, response } = await bare.POST(PATH, {
      params: { header: { "Idempotency-Key": crypto.randomUUID() } },
      body: { model: MODEL },
    });
    if (!response.ok) fail("openapi-fetch", response.status);
    return data;
  };

  // Defaults (request and response validation on, 60 s timeout, UUIDv4 idempotency key), no retries.
  const ours = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0 });
  // The same over merge-crm-engagements/undici (its defaults: an Agent, unlimited connections, keep-alive).
  const undiciTransport = createUndiciFetch();
  const oursUndici = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0, fetch: undiciTransport });
  // The same, plus every create checked against the linked account's meta schema (fetched once, cached).
  const oursAccount = createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0, accountValidation: "strict" });
  const oursNoValidate = createMergeCrmClient({
    apiKey: API_KEY,
    accountToken: ACCOUNT_TOKEN,
    baseUrl: origin,
    maxRetries: 0,
    validateRequests: false,
    validateResponses: "off",
  });

  // Defaults (60 s timeout, its response parsing), no retries; the Idempotency-Key as an extra header.
  const sdk = new MergeClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0 });
  const sdkCreate = async () => {
    const response = await sdk.crm.engagements.create(
      { model: sdkModel() },
      { headers: { "Idempotency-Key": crypto.randomUUID() } },
    );
    return response;
  };

  const calls = {
    fetch: rawFetch,
    undici: undiciRequest,
    "openapi-fetch": bareOpenapiFetch,
    ours: () => ours.engagements.create(MODEL),
    "ours-undici": () => oursUndici.engagements.create(MODEL),
    "ours-account": () => oursAccount.engagements.create(MODEL),
    "ours-novalidate": () => oursNoValidate.engagements.create(MODEL),
    "merge-sdk": sdkCreate,
  };
  return {
    calls,
    /** Our client with strict response validation: the fixture is checked once against the spec. */
    strict: createMergeCrmClient({ apiKey: API_KEY, accountToken: ACCOUNT_TOKEN, baseUrl: origin, maxRetries: 0, validateResponses: "strict" }),
    close: () => Promise.all([pool.close(), undiciTransport.close()]),
  };
}
