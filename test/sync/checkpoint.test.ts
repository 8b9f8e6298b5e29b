/**
 * The checkpoint rule in isolation, over an injected fetch (no network): the next walk starts from
 * Merge's clock at the walk's first answer (its Date header, or the largest modified_at seen before the
 * walk), less the margin; a resumed walk goes on from its cursor; an expired cursor restarts the walk
 * without moving its start; onResponse reports the answer's headers.
 */
import { createMergeCrmClient, type FetchLike } from "../../src/index.js";
import { CheckpointError, engagementChanges, type EngagementChangeBatch } from "../../src/sync/index.js";

interface Served {
  url: URL;
}

/** A fake list endpoint: pages of `records` (2 a page), a Date header from `date()`. */
function fakeMerge(records: { id: string; modified_at: string; remote_was_deleted?: boolean }[], date: () => string | null, expired = new Set<string>()) {
  const served: Served[] = [];
  const fetch: FetchLike = async (request) => {
    const url = new URL(request.url);
    served.push({ url });
    const cursor = url.searchParams.get("cursor");
    // An expired cursor is refused once; the server hands out a fresh one for the same place later.
    if (cursor !== null && expired.delete(cursor)) return new Response(JSON.stringify({ detail: "cursor expired" }), { status: 400, headers: { "content-type": "application/json" } });
    const after = url.searchParams.get("modified_after");
    const matching = records.filter((record) => after === null || Date.parse(record.modified_at) > Date.parse(after));
    const start = cursor === null ? 0 : Number(cursor.slice(1));
    const results = matching.slice(start, start + 2);
    const next = start + 2 < matching.length ? `c${start + 2}` : null;
    const headers: Record<string, string> = { "content-type": "application/json" };
    const stamp = date();
    if (stamp !== null) headers["date"] = stamp;
    return new Response(JSON.stringify({ next, previous: null, results }), { status: 200, headers });
  };
  const merge = createMergeCrmClient({ apiKey: "k", accountToken: "t", baseUrl: "https://merge.test/api", fetch, maxRetries: 0, validateResponses: "off" });
  return { merge, served };
}

async function collect(iterator: AsyncIterable<EngagementChangeBatch>): Promise<EngagementChangeBatch[]> {
  const out: EngagementChangeBatch[] = [];
  for await (const batch of iterator) out.push(batch);
  return out;
}

const records = [
  { id: "a", modified_at: "2026-11-30T10:00:00.000Z" },
  { id: "b", modified_at: "2026-11-30T11:00:00.000Z", remote_was_deleted: true },
  { id: "c", modified_at: "2026-11-30T11:00:00.000Z" },
  { id: "d", modified_at: "2026-11-30T09:00:00.000Z" },
  { id: "e", modified_at: "2026-11-30T12:00:00.000Z" },
];

test("a first walk reads everything with deletions, then starts the next from the first answer's Date less the margin", async () => {
  const { merge, served } = fakeMerge(records, () => "Mon, 30 Nov 2026 12:30:00 GMT");
  const batches = await collect(engagementChanges(merge, { marginMs: 60_000 }));
  expect(batches.map((batch) => batch.caughtUp)).toEqual([false, false, true]);
  expect(batches.flatMap((batch) => batch.changes.map((change) => (change.op === "upsert" ? `+${change.engagement.id ?? ""}` : `-${change.id}`)))).toEqual(["+a", "-b", "+c", "+d", "+e"]);
  expect(served.every(({ url }) => url.searchParams.get("include_deleted_data") === "true" && url.searchParams.get("modified_after") === null)).toBe(true);
  const last = JSON.parse(batches.at(-1)?.checkpoint ?? "{}") as { after: string; high: string };
  // 12:30:00 less the second the header is rounded to, less the 60 s margin.
  expect(last.after).toBe("2026-11-30T12:28:59.000Z");
  expect(last.high).toBe("2026-11-30T12:00:00.000Z");

  const again = fakeMerge(records, () => "Mon, 30 Nov 2026 12:40:00 GMT");
  const rerun = await collect(engagementChanges(again.merge, { checkpoint: batches.at(-1)?.checkpoint }));
  expect(again.served.map(({ url }) => url.searchParams.get("modified_after"))).toEqual(["2026-11-30T12:28:59.000Z"]);
  expect(rerun.flatMap((batch) => batch.changes)).toEqual([]);
});

test("without a Date header, the largest modified_at seen before the walk dates it; the first walk cannot, and keeps its filter", async () => {
  const { merge } = fakeMerge(records, () => null);
  const first = await collect(engagementChanges(merge, { marginMs: 0 }));
  const afterFirst = JSON.parse(first.at(-1)?.checkpoint ?? "{}") as { after: string | null; high: string };
  expect(afterFirst.after).toBeNull();
  expect(afterFirst.high).toBe("2026-11-30T12:00:00.000Z");
  const second = await collect(engagementChanges(merge, { marginMs: 0, checkpoint: first.at(-1)?.checkpoint }));
  const afterSecond = JSON.parse(second.at(-1)?.checkpoint ?? "{}") as { after: string | null };
  expect(afterSecond.after).toBe("2026-11-30T12:00:00.000Z");
});

test("a walk resumed from a mid-walk checkpoint goes on from its cursor; an expired cursor restarts the walk, keeping its start", async () => {
  let now = "Mon, 30 Nov 2026 12:30:00 GMT";
  const expired = new Set<string>();
  const { merge, served } = fakeMerge(records, () => now, expired);
  const iterator = engagementChanges(merge, { marginMs: 0 });
  const first = await iterator.next();
  await iterator.return(undefined);
  const mid = first.done ? "" : first.value.checkpoint;
  expect(JSON.parse(mid)).toMatchObject({ walk: { cursor: "c2", start: "2026-11-30T12:29:59.000Z" } });

  served.length = 0;
  now = "Mon, 30 Nov 2026 13:00:00 GMT";
  const resumed = await collect(engagementChanges(merge, { marginMs: 0, checkpoint: mid }));
  // The resumed walk goes on from its cursor; then, since it began before this call, one more walk
  // reads what changed behind it, and only that one's last batch is caughtUp.
  expect(served.map(({ url }) => url.searchParams.get("cursor"))).toEqual(["c2", "c4", null]);
  expect(served[2]?.url.searchParams.get("modified_after")).toBe("2026-11-30T12:29:59.000Z");
  expect(resumed.map((batch) => batch.caughtUp)).toEqual([false, false, true]);
  expect(JSON.parse(resumed.at(-1)?.checkpoint ?? "{}")).toMatchObject({ after: "2026-11-30T12:59:59.000Z" });

  served.length = 0;
  expired.add("c2");
  const restarted = await collect(engagementChanges(merge, { marginMs: 0, checkpoint: mid }));
  expect(served.slice(0, 4).map(({ url }) => url.searchParams.get("cursor"))).toEqual(["c2", null, "c2", "c4"]);
  expect(restarted.flatMap((batch) => batch.changes).length).toBeGreaterThanOrEqual(5);
  // Started again at 13:00, the walk keeps the start of 12:30 (what it must catch is after that): the
  // walk that follows it reads from 12:29:59.
  expect(served[4]?.url.searchParams.get("modified_after")).toBe("2026-11-30T12:29:59.000Z");
});

test("since bounds the first walk; bad options and checkpoints are refused before any request", async () => {
  const { merge, served } = fakeMerge(records, () => "Mon, 30 Nov 2026 12:30:00 GMT");
  const batches = await collect(engagementChanges(merge, { since: new Date("2026-11-30T10:30:00Z") }));
  expect(served[0]?.url.searchParams.get("modified_after")).toBe("2026-11-30T10:30:00.000Z");
  expect(batches.flatMap((batch) => batch.changes)).toHaveLength(3);
  served.length = 0;
  await expect(collect(engagementChanges(merge, { checkpoint: "{nope" }))).rejects.toThrow(CheckpointError);
  await expect(collect(engagementChanges(merge, { checkpoint: JSON.stringify({ v: 2 }) }))).rejects.toThrow(/version 2/);
  await expect(collect(engagementChanges(merge, { pageSize: 101 }))).rejects.toThrow(/pageSize/);
  await expect(collect(engagementChanges(merge, { since: "yesterday" }))).rejects.toThrow(/since/);
  expect(served).toHaveLength(0);
});

test("onResponse reports the status and headers of the answer a call returns", async () => {
  const { merge } = fakeMerge(records, () => "Mon, 30 Nov 2026 12:30:00 GMT");
  const seen: { status: number; date: string | null }[] = [];
  await merge.engagements.list({}, { onResponse: ({ status, headers }) => seen.push({ status, date: headers.get("date") }) });
  expect(seen).toEqual([{ status: 200, date: "Mon, 30 Nov 2026 12:30:00 GMT" }]);
});
