/**
 * The app code the mock guide's test exercises (docs/guide/mock.md): it takes a client, so a test can
 * hand it one pointed at the mock. Type-checked with the samples by `npm run check:docs`.
 */
import type { MergeCrmClient } from "merge-crm-engagements";

export async function logCall(merge: MergeCrmClient<"client">, call: { from: string; minutes: number }) {
  const end = new Date();
  const start = new Date(end.getTime() - call.minutes * 60_000);
  return merge.engagements.create(
    { subject: `Call from ${call.from}`, direction: "INBOUND", start_time: start, end_time: end },
    { idempotencyKey: crypto.randomUUID() },
  );
}
