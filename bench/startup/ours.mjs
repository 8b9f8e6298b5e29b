// Start-up: import our built client (dist/ ESM entry) and construct it; prints the in-process time.
const t0 = performance.now();
const { createMergeCrmClient } = await import("../.dist/index.js");
const merge = createMergeCrmClient({ apiKey: "bench_api_key", accountToken: "bench_account_token" });
if (typeof merge.engagements.create !== "function") throw new Error("no create");
process.stdout.write(JSON.stringify({ importAndConstructMs: performance.now() - t0 }));
