import { PassThrough } from "node:stream";
import { duration, grouped, startProgress } from "../../src/cli/progress.js";

function sink() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  return { stream, text: () => text };
}

test("plain lines: rows done of total, writes per minute over the window, ETA, counts per outcome", () => {
  let now = 0;
  const out = sink();
  const progress = startProgress({ total: 1000, tty: false, stream: out.stream, now: () => now, intervalMs: 60_000 });
  // 300 rows in 10 s, 240 of them written: 1,800 rows/min, 1,440 writes/min; 700 rows left → 23 s.
  for (let i = 0; i < 300; i++) {
    now = (i + 1) * (10_000 / 300);
    progress.add(i < 240 ? "created" : i < 270 ? "done-before" : i < 290 ? "rejected" : "failed");
  }
  expect(progress.line()).toBe("300/1,000 rows (30%) | 1,440 writes/min | ETA 23s | created 240 · done before 30 · rejected 20 · failed 10");
  expect(progress.counts).toEqual({ created: 240, doneBefore: 30, rejected: 20, held: 0, failed: 10, valid: 0 });
  // Held rows (a suspended account) are shown once there are some.
  progress.add("held");
  expect(progress.line()).toContain("rejected 20 · held 1 · failed 10");
  progress.note("a warning");
  progress.stop();
  expect(out.text()).toBe("a warning\n");
});

test("plain lines are written every interval, and the total grows when the pre-count was short", async () => {
  const out = sink();
  const progress = startProgress({ total: 1, tty: false, stream: out.stream, intervalMs: 20, label: "import" });
  progress.add("created");
  progress.add("created");
  await new Promise((resolve) => setTimeout(resolve, 70));
  progress.stop();
  expect(out.text()).toMatch(/^import: 2\/2 rows \(100%\) \| [\d,]+ writes\/min \| ETA 0s \| created 2 · done before 0 · rejected 0 · failed 0\n/);
});

test("on a terminal: a bar with the counts, redrawn in place", () => {
  const out = sink();
  // cli-progress draws only on a terminal.
  Object.assign(out.stream, { isTTY: true, columns: 200 });
  const progress = startProgress({ total: 4, tty: true, stream: out.stream });
  progress.add("created");
  progress.add("rejected");
  progress.note("Stopping: a message above the bar");
  progress.stop();
  const text = out.text();
  expect(text).toMatch(/Stopping: a message above the bar\n(?:.|\n)*2\/4 rows/);
  expect(text).toContain("2/4 rows");
  expect(text).toContain("created 1 · done before 0 · rejected 1 · failed 0");
  expect(text).toMatch(/[\u2588\u2591]{30}/);
});

test("a dry run counts rows validated per minute, valid and rejected", () => {
  let now = 0;
  const progress = startProgress({ total: 10, tty: false, stream: sink().stream, now: () => now, dryRun: true });
  for (let i = 0; i < 5; i++) {
    now = (i + 1) * 1000;
    progress.add(i === 0 ? "rejected" : "valid");
  }
  progress.stop();
  expect(progress.line()).toBe("5/10 rows (50%) | 60 rows/min | ETA 5s | valid 4 · rejected 1");
});

test("numbers and durations read as people write them", () => {
  expect(grouped(1234567)).toBe("1,234,567");
  expect(duration(42_000)).toBe("42s");
  expect(duration(185_000)).toBe("3m05s");
  expect(duration(3_720_000)).toBe("1h02m");
});
