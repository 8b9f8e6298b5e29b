/**
 * npm run bench:webhooks: what verifying a webhook delivery costs. A realistic Engagement.added body of
 * 2 kB (the shape of openapi/components/examples/EngagementAddedEvent.yaml), signed with node:crypto;
 * verified by our `verifyMergeWebhook` (on Node: the builtin backend, the runtime's HMAC reached through
 * `process.getBuiltinModule` with its key object made once) and, in the same process over the same
 * body, by node:crypto as a Node-only receiver would: `createHmac("sha256", key).update(body).digest()`
 * and `timingSafeEqual` against the signature header decoded (`Buffer.from(header, "base64url")`, per
 * call, as ours decodes it per call). Each with the body as a string (what `await request.text()` gives)
 * and as a Uint8Array. Beside them: our webcrypto backend (what Workers and browsers run: the CryptoKey
 * imported once and cached), and its floor, `crypto.subtle.verify` alone with the key imported and the
 * signature decoded beforehand (what WebCrypto itself costs a call here, whoever wraps it).
 *
 * A call of ours first (it makes the key), a warm-up round of all six, then ROUNDS interleaved
 * rounds: in each, CALLS calls of each of the six, each call timed alone, the order rotated every round
 * so no variant always runs first (or right after GC of another's garbage). Afterwards, a key not seen
 * before: its first call and the next ones, apart. Figures: median, p95 and p99 µs per verify over all
 * the rounds' calls, ours ÷ node of the medians (and of the p95s), and that ratio within each round
 * (its median and range: how steady).
 * Target: ours ≤ 1.5× node:crypto's median, for both body forms. Prints a table and one JSON line; exits
 * 1 when the target is missed. BENCH_WEBHOOK_ROUNDS, BENCH_WEBHOOK_CALLS change the sizes; BENCH_QUICK=1
 * is a smoke run.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { integerFromEnvironment } from "../test/support/prism.js";
import { step } from "../scripts/lib.js";
import { engagement, hook, LINKED_ACCOUNT } from "../test/webhooks/deliveries.js";
import { verifyMergeWebhook } from "../src/webhooks/index.js";
import { signatureBackend, verifyWith } from "../src/webhooks/signature.js";

const QUICK = process.env["BENCH_QUICK"] === "1";
const ROUNDS = integerFromEnvironment("BENCH_WEBHOOK_ROUNDS", QUICK ? 3 : 15);
const CALLS = integerFromEnvironment("BENCH_WEBHOOK_CALLS", QUICK ? 200 : 2_000);
const TARGET_RATIO = 1.5;
const BODY_BYTES = 2_048;
/** A webhook signature key as Merge shows it in the dashboard: a long random string. */
const KEY = "wh_sk_7fQ2vJx9LrT4mN8bKc3ZpH6sYd1WgE5uAo0iVn2qXl7tRy4jMf9hBk3";

/** An Engagement.added delivery of exactly BODY_BYTES UTF-8 bytes: the call's notes fill it up. */
function engagementAddedBody(): string {
  const event = (content: string) => ({
    hook: hook("Engagement.added"),
    linked_account: LINKED_ACCOUNT,
    data: engagement({
      content,
      subject: "Anruf mit Müller — Verlängerung 2027",
      contacts: ["a7c55bc6-2940-c80a-848e-bbfacbfdf4f0", "b1d2e3f4-0a1b-4c2d-8e3f-9a0b1c2d3e4f"],
      field_mappings: { organization_defined_targets: {}, linked_account_defined_targets: { hs_call_disposition: "connected" } },
      remote_data: null,
    }),
  });
  const notes =
    "Called about the renewal for 2027. They want the analytics add-on priced for 40 seats, and a second " +
    "workspace for the Munich team. Procurement needs the security questionnaire by Friday; legal is " +
    "reviewing the DPA. Follow-up call booked for next Tuesday with their IT lead to go through SSO. ";
  const empty = Buffer.byteLength(JSON.stringify(event("")), "utf8");
  const content = notes.repeat(Math.ceil((BODY_BYTES - empty) / notes.length)).slice(0, BODY_BYTES - empty);
  const body = JSON.stringify(event(content));
  if (Buffer.byteLength(body, "utf8") !== BODY_BYTES) throw new Error(`the body is ${Buffer.byteLength(body, "utf8")} bytes, not ${BODY_BYTES}`);
  return body;
}

const body = engagementAddedBody();
const bytes = new TextEncoder().encode(body);
const signature = createHmac("sha256", KEY).update(body).digest("base64url");

/** node:crypto, as a Node-only receiver verifies: HMAC the body, compare with the decoded header. */
function nodeVerify(input: string | Uint8Array, header: string): boolean {
  const mac = createHmac("sha256", KEY).update(input).digest();
  const expected = Buffer.from(header, "base64url");
  return expected.length === mac.length && timingSafeEqual(mac, expected);
}

/**
 * The floor under ours: `crypto.subtle.verify` alone, with the key imported and the signature decoded
 * beforehand, the body's bytes given. What WebCrypto itself costs a call on this runtime.
 */
const subtleKey = await crypto.subtle.importKey("raw", new TextEncoder().encode(KEY), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
const signatureBytes = new Uint8Array(Buffer.from(signature, "base64url"));

type Id = "ours-string" | "node-string" | "ours-bytes" | "node-bytes" | "subtle-bytes" | "webcrypto-bytes";
const IDS: Id[] = ["ours-string", "node-string", "ours-bytes", "node-bytes", "subtle-bytes", "webcrypto-bytes"];
const LABELS: Record<Id, string> = {
  "ours-string": `ours (verifyMergeWebhook: ${signatureBackend} backend)`,
  "node-string": "node:crypto createHmac + timingSafeEqual",
  "ours-bytes": `ours (verifyMergeWebhook: ${signatureBackend} backend)`,
  "node-bytes": "node:crypto createHmac + timingSafeEqual",
  "subtle-bytes": "crypto.subtle.verify alone (key, signature ready): the WebCrypto floor",
  "webcrypto-bytes": "ours on the webcrypto backend (what Workers and browsers run)",
};
const calls: Record<Id, () => boolean | Promise<boolean>> = {
  "ours-string": () => verifyMergeWebhook(body, signature, KEY),
  "node-string": () => nodeVerify(body, signature),
  "ours-bytes": () => verifyMergeWebhook(bytes, signature, KEY),
  "node-bytes": () => nodeVerify(bytes, signature),
  "subtle-bytes": () => crypto.subtle.verify("HMAC", subtleKey, signatureBytes, bytes),
  "webcrypto-bytes": () => verifyWith("webcrypto", bytes, signature, KEY),
};
const isAsync = (id: Id) => !id.startsWith("node");

/** CALLS calls of `id`, each timed alone, into `out` from `offset` (µs). */
async function batch(id: Id, out: Float64Array, offset: number): Promise<void> {
  const call = calls[id];
  let wrong = 0;
  if (isAsync(id)) {
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      const ok = await call();
      out[offset + i] = (performance.now() - t0) * 1_000;
      if (ok !== true) wrong++;
    }
  } else {
    // node:crypto is synchronous: no await, as a receiver would call it.
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      const ok = call();
      out[offset + i] = (performance.now() - t0) * 1_000;
      if (ok !== true) wrong++;
    }
  }
  if (wrong > 0) throw new Error(`${id}: ${wrong} of ${CALLS} verifications of the valid signature were not true`);
}

function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}
const median = (values: Float64Array | number[]) => {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};
const fmt = (n: number, digits = 2) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

step(`bench:webhooks: a ${BODY_BYTES.toLocaleString("en-US")}-byte Engagement.added body, ${ROUNDS} interleaved rounds × ${CALLS.toLocaleString("en-US")} calls of each of ${IDS.length}`);

// Both agree before anything is measured: the valid signature is true, a tampered body false.
const tampered = body.replace("renewal", "renewaL");
for (const [what, input, expected] of [["valid", body, true], ["tampered", tampered, false]] as const) {
  const ours = await verifyMergeWebhook(input, signature, KEY);
  const node = nodeVerify(input, signature);
  if (ours !== expected || node !== expected) throw new Error(`${what} body: ours ${String(ours)}, node:crypto ${String(node)}, expected ${String(expected)}`);
}

// Warm-up: one unmeasured round of all six (JIT, the cached key's promise settled).
const scratch = new Float64Array(CALLS);
for (const id of IDS) await batch(id, scratch, 0);

const samples = Object.fromEntries(IDS.map((id) => [id, new Float64Array(ROUNDS * CALLS)])) as Record<Id, Float64Array>;
const roundRatios: Record<"string" | "bytes", number[]> = { string: [], bytes: [] };
const started = performance.now();
for (let round = 0; round < ROUNDS; round++) {
  // Rotated each round, so ours and node:crypto alternate in going first.
  const order = IDS.map((_, i) => IDS[(i + round) % IDS.length] as Id);
  for (const id of order) await batch(id, samples[id], round * CALLS);
  for (const form of ["string", "bytes"] as const) {
    const slice = (id: Id) => samples[id].subarray(round * CALLS, (round + 1) * CALLS);
    roundRatios[form].push(median(slice(`ours-${form}`)) / median(slice(`node-${form}`)));
  }
  process.stdout.write(`round ${String(round + 1).padStart(2)}/${ROUNDS}: order ${order.join(", ")}; ours ÷ node ${fmt(roundRatios.string.at(-1) ?? NaN)}× (string), ${fmt(roundRatios.bytes.at(-1) ?? NaN)}× (bytes)\n`);
}
const seconds = (performance.now() - started) / 1_000;

// The key's import, apart: after the rounds (everything warm), a key not seen before: its first call
// imports it, the next ones find it cached.
const freshKey = `${KEY}-first-call`;
const freshSignature = createHmac("sha256", freshKey).update(body).digest("base64url");
let t0 = performance.now();
await verifyMergeWebhook(body, freshSignature, freshKey);
const firstCallUs = (performance.now() - t0) * 1_000;
const next: number[] = [];
for (let i = 0; i < 21; i++) {
  t0 = performance.now();
  await verifyMergeWebhook(body, freshSignature, freshKey);
  next.push((performance.now() - t0) * 1_000);
}
const secondCallUs = median(next);

const stats = Object.fromEntries(
  IDS.map((id) => [id, { n: samples[id].length, medianUs: median(samples[id]), p95Us: quantile(samples[id], 0.95), p99Us: quantile(samples[id], 0.99) }]),
) as Record<Id, { n: number; medianUs: number; p95Us: number; p99Us: number }>;
const ratios = Object.fromEntries(
  (["string", "bytes"] as const).map((form) => {
    const per = roundRatios[form];
    return [
      form,
      {
        medianRatio: stats[`ours-${form}`].medianUs / stats[`node-${form}`].medianUs,
        p95Ratio: stats[`ours-${form}`].p95Us / stats[`node-${form}`].p95Us,
        perRound: { median: median(per), min: Math.min(...per), max: Math.max(...per) },
      },
    ];
  }),
) as Record<"string" | "bytes", { medianRatio: number; p95Ratio: number; perRound: { median: number; min: number; max: number } }>;

const problems: string[] = [];
console.log(`\n| body | verifier | median µs/verify | p95 µs | p99 µs | ours ÷ node (median) | ÷ (p95) | per round: median (range) | target | met? |`);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const form of ["string", "bytes"] as const) {
  const label = form === "string" ? `string (${BODY_BYTES.toLocaleString("en-US")} B UTF-8)` : `Uint8Array (${bytes.length.toLocaleString("en-US")} B)`;
  const node = stats[`node-${form}`];
  const ours = stats[`ours-${form}`];
  const r = ratios[form];
  const met = r.medianRatio <= TARGET_RATIO;
  if (!met) problems.push(`body as ${form}: ours ${fmt(ours.medianUs)} µs ÷ node:crypto ${fmt(node.medianUs)} µs = ${fmt(r.medianRatio)}× (target ≤ ${TARGET_RATIO}×)`);
  console.log(`| ${label} | ${LABELS[`node-${form}`]} | ${fmt(node.medianUs)} | ${fmt(node.p95Us)} | ${fmt(node.p99Us)} | 1.00× | — | — |  |  |`);
  console.log(
    `| ${label} | ${LABELS[`ours-${form}`]} | ${fmt(ours.medianUs)} | ${fmt(ours.p95Us)} | ${fmt(ours.p99Us)} | ${fmt(r.medianRatio)}× | ${fmt(r.p95Ratio)}× | ${fmt(r.perRound.median)}× (${fmt(r.perRound.min)}–${fmt(r.perRound.max)}) | ≤ ${TARGET_RATIO}× node | ${met ? "yes" : "**no**"} |`,
  );
  if (form === "bytes") {
    for (const id of ["webcrypto-bytes", "subtle-bytes"] as const) {
      const row = stats[id];
      console.log(`| ${label} | ${LABELS[id]} | ${fmt(row.medianUs)} | ${fmt(row.p95Us)} | ${fmt(row.p99Us)} | ${fmt(row.medianUs / node.medianUs)}× | ${fmt(row.p95Us / node.p95Us)}× | — |  |  |`);
    }
  }
}
console.log(`\nthe webcrypto backend ÷ the crypto.subtle.verify floor (Uint8Array body): ${fmt(stats["webcrypto-bytes"].medianUs / stats["subtle-bytes"].medianUs)}× of the median (what our code adds over WebCrypto itself)`);
console.log(
  `string ÷ Uint8Array (the UTF-8 encoding of the body per call): ours ${fmt(stats["ours-string"].medianUs / stats["ours-bytes"].medianUs)}×, node:crypto ${fmt(stats["node-string"].medianUs / stats["node-bytes"].medianUs)}×`,
);
console.log(`ours, a key not seen before: first call ${fmt(firstCallUs)} µs (makes the key), the next 21: median ${fmt(secondCallUs)} µs (cached)`);
console.log(
  `${ROUNDS} rounds × ${CALLS.toLocaleString("en-US")} calls × ${IDS.length} in ${fmt(seconds, 1)} s; Node ${process.versions.node}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`,
);
console.log(
  JSON.stringify({
    bench: "webhooks",
    node: process.versions.node,
    bodyBytes: BODY_BYTES,
    rounds: ROUNDS,
    callsPerRound: CALLS,
    us: Object.fromEntries(IDS.map((id) => [id, { median: +stats[id].medianUs.toFixed(3), p95: +stats[id].p95Us.toFixed(3), p99: +stats[id].p99Us.toFixed(3), n: stats[id].n }])),
    ratio: Object.fromEntries(
      (["string", "bytes"] as const).map((form) => [
        form,
        { median: +ratios[form].medianRatio.toFixed(3), p95: +ratios[form].p95Ratio.toFixed(3), perRoundMedian: +ratios[form].perRound.median.toFixed(3), perRoundMin: +ratios[form].perRound.min.toFixed(3), perRoundMax: +ratios[form].perRound.max.toFixed(3) },
      ]),
    ),
    backend: signatureBackend,
    webcryptoOverSubtleFloor: +(stats["webcrypto-bytes"].medianUs / stats["subtle-bytes"].medianUs).toFixed(3),
    firstCallUs: +firstCallUs.toFixed(1),
    nextCallsMedianUs: +secondCallUs.toFixed(1),
    targetRatio: TARGET_RATIO,
    met: problems.length === 0,
  }),
);
if (problems.length > 0) {
  console.error(`bench:webhooks missed its target:\n- ${problems.join("\n- ")}`);
  process.exitCode = 1;
} else {
  console.log("bench:webhooks met its target");
}
