// Start-up: import the official SDK and construct it, down to the resource the create call uses.
const t0 = performance.now();
const { MergeClient } = await import("@mergeapi/merge-node-client");
const merge = new MergeClient({ apiKey: "bench_api_key", accountToken: "bench_account_token" });
if (typeof merge.crm.engagements.create !== "function") throw new Error("no create");
process.stdout.write(JSON.stringify({ importAndConstructMs: performance.now() - t0 }));
