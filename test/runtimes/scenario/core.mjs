// The one scenario every runtime of the matrix runs, on the package it is handed (imported as ESM or
// required as CommonJS). Plain JavaScript and web APIs only: no Node, Bun or Deno API. It reports
// what it observed; test/runtimes/matrix.ts checks every field against what the fake API served.

/** Which runtime this is, as the runtime itself says. */
export function describeRuntime() {
  if (typeof globalThis.Deno === "object") return { name: "deno", version: globalThis.Deno.version.deno };
  if (typeof globalThis.Bun === "object") return { name: "bun", version: globalThis.Bun.version };
  if (globalThis.navigator?.userAgent === "Cloudflare-Workers") return { name: "workerd", version: null };
  if (typeof globalThis.process === "object" && globalThis.process.versions?.node) {
    return { name: "node", version: globalThis.process.versions.node };
  }
  return { name: "unknown", version: null };
}

function describeError(error) {
  if (!(error instanceof Error)) return { thrown: String(error) };
  return { name: error.name, message: error.message };
}

/** Runs `check`, recording what it returned or what it threw; one failure never hides the others. */
export async function observe(check) {
  try {
    return { ok: true, value: await check() };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/** The call that should fail, failing: what it rejected with (a resolution is reported as such). */
async function rejection(call) {
  try {
    const value = await call();
    return { resolved: JSON.stringify(value) };
  } catch (error) {
    return { error };
  }
}

/**
 * @param lib the package's exports (`import * as lib` or `require(...)`)
 * @param options `baseUrl` of the fake Merge API, `run` (sent as `X-Matrix-Run`, so the API can tell
 *   runs apart), `missingId` (answered 404), `slowId` (answered too late), `pageSize`
 */
export async function runScenario(lib, { baseUrl, run, missingId, slowId, pageSize }) {
  const warnings = [];
  const client = (options = {}) =>
    lib.createMergeCrmClient({
      apiKey: "runtime-matrix-key",
      accountToken: "runtime-matrix-token",
      baseUrl,
      maxRetries: 0,
      headers: { "X-Matrix-Run": run },
      logger: { warn: (message) => warnings.push(message) },
      ...options,
    });
  const merge = client();

  const create = await observe(async () => {
    const created = await merge.engagements.create({ subject: `created on ${run}`, direction: "OUTBOUND" });
    return { id: created.model.id, subject: created.model.subject, warnings: created.warnings, errors: created.errors };
  });

  const validation = await observe(async () => {
    const { error, resolved } = await rejection(() => merge.engagements.create({ subject: "refused", direction: "SIDEWAYS" }));
    if (!error) return { resolved };
    return {
      name: error.name,
      isClass: error instanceof lib.MergeValidationError,
      isMergeError: error instanceof lib.MergeError && lib.isMergeError(error),
      guard: lib.isMergeValidationError(error),
      pointers: error.problems?.map((problem) => problem.pointer),
    };
  });

  const notFound = await observe(async () => {
    const { error, resolved } = await rejection(() => merge.engagements.retrieve(missingId));
    if (!error) return { resolved };
    return {
      name: error.name,
      isClass: error instanceof lib.MergeNotFoundError,
      isApiError: error instanceof lib.MergeApiError && lib.isMergeApiError(error),
      status: error.status,
      body: error.body,
      requestId: error.requestId,
      method: error.method,
    };
  });

  const listAll = await observe(async () => {
    const ids = [];
    for await (const engagement of merge.engagements.listAll({ page_size: pageSize })) ids.push(engagement.id);
    return { ids };
  });

  const timeout = await observe(async () => {
    const started = Date.now();
    const { error, resolved } = await rejection(() => merge.engagements.retrieve(slowId, undefined, { timeoutMs: 300 }));
    const elapsedMs = Date.now() - started;
    if (!error) return { resolved, elapsedMs };
    return {
      name: error.name,
      isClass: error instanceof lib.MergeTimeoutError && error instanceof lib.MergeConnectionError,
      guard: lib.isMergeTimeoutError(error),
      timeoutMs: error.timeoutMs,
      elapsedMs,
    };
  });

  // Account validation: the linked account's meta schema, compiled at run time (no eval on any runtime),
  // refuses what its CRM lacks before sending; describeCreate flattens it into fields.
  const account = await observe(async () => {
    const strict = client({ accountValidation: "strict" });
    const { error, resolved } = await rejection(() => strict.engagements.create({ subject: "no owner email" }));
    const { fields } = await strict.engagements.describeCreate();
    return {
      name: error?.name ?? `resolved ${resolved}`,
      pointers: error?.problems?.map((problem) => problem.pointer),
      required: fields.filter((field) => field.required).map((field) => field.pointer),
    };
  });

  return { runtime: describeRuntime(), create, validation, notFound, listAll, timeout, account, warnings };
}

/** Reads the scenario's options from a JSON argument. */
export function parseOptions(json) {
  const options = JSON.parse(json);
  for (const key of ["baseUrl", "run", "missingId", "slowId"]) {
    if (typeof options[key] !== "string") throw new Error(`scenario option ${key} is missing`);
  }
  return options;
}
