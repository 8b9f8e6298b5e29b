/**
 * examples/bull-board.ts against a real Redis, opened in a real (Debian) Chromium through playwright-core:
 * one row refused by a local Merge (so it ends in `failed`) and three left waiting, and Bull Board's page
 * of the queue shows its name, the counts on its status tabs, the failed job's reason, and the jobs'
 * data with the account token sealed. A screenshot is saved under test-results/.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { createMergeCrmClient } from "../../src/index.js";
import { createEngagementQueue, startEngagementWorker, type EngagementQueue } from "../../src/queue/index.js";
import { BASE_PATH, startBullBoard, type BullBoard } from "../../examples/bull-board.js";
import { useFakeMerge } from "../support/fake-merge.js";
import { useRedis } from "../support/redis.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const screenshot = join(root, "test-results", "bull-board-queue.png");
const redis = useRedis();
const { server } = useFakeMerge("bull-board-");
const SECRET = "a queue secret of the tests, 32 chars";
const TOKEN = "bull-board-test-account-token";
// Not the default name: the board must show the queue it was given, as MERGE_QUEUE_NAME would name it.
const QUEUE_NAME = "engagements-board-test";

let queue: EngagementQueue;
let board: BullBoard;
let browser: Browser;
let page: Page;
let failedJobId = "";

/** A status tab of the queue's page (its link, `?status=<status>`), whose badge holds the count. */
function statusTab(status: string): Locator {
  return page.locator(`a[href="${BASE_PATH}/queue/${QUEUE_NAME}?status=${status}"]`);
}

// In a describe block so that its afterAll closes the queue before useRedis's (declared first, run first) stops Redis.
describe("Bull Board on the engagement queue", () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    queue = createEngagementQueue({ connection: redis().url, name: QUEUE_NAME, secret: SECRET });

    // One row the local Merge answers 400: a worker moves it to `failed` and is closed before the rest arrive.
    server.decide = ({ body }) => (body.includes("refuse me") ? { status: 400 } : "store");
    await queue.enqueue({ model: { subject: "refuse me" }, accountToken: TOKEN, key: "refused-1" });
    const worker = await startEngagementWorker({
      client: createMergeCrmClient({ apiKey: "bull-board-test-api-key", baseUrl: server.url }),
      connection: redis().url,
      name: QUEUE_NAME,
      secret: SECRET,
      closeOnSignals: false,
    });
    try {
      await until("the refused row to fail", async () => (await queue.counts()).failed === 1);
    } finally {
      await worker.close();
    }
    failedJobId = (await queue.failedJobs())[0]?.jobId ?? "";
    await queue.enqueueMany([1, 2, 3].map((i) => ({ model: { subject: `waiting row ${i}` }, accountToken: TOKEN, key: `waiting-${i}` })));
    expect(await queue.counts()).toEqual({ waiting: 3, delayed: 0, active: 0, completed: 0, failed: 1 });

    board = await startBullBoard({ redisUrl: redis().url, queueName: QUEUE_NAME, port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    // The UI links Google Fonts: only the board itself is fetched, so the test needs no network.
    const origin = new URL(board.url).origin;
    await page.route("**/*", (route) => (route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort()));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await board?.close();
    await queue?.close();
  }, 15_000);

  test("the board lists the queue; its page shows the name, the counts on the status tabs and the jobs' data", async () => {
    await page.goto(board.url, { waitUntil: "domcontentloaded" });
    const link = page.locator(`nav a[href="${BASE_PATH}/queue/${QUEUE_NAME}"]`);
    await link.waitFor({ timeout: 10_000 });
    expect(await link.innerText()).toBe(QUEUE_NAME);
    await link.click();
    await page.waitForURL(`${board.url}/queue/${QUEUE_NAME}`);

    const title = page.locator(`header h1[title="${QUEUE_NAME}"]`);
    await title.waitFor({ timeout: 10_000 });
    expect(await title.innerText()).toBe(QUEUE_NAME);
    // A tab's text is its label then its badge ("WAITING" + "3"); the tabs of empty states have no badge.
    await untilText(statusTab("waiting"), /^waiting\s*3$/i);
    await untilText(statusTab("failed"), /^failed\s*1$/i);
    for (const empty of ["active", "completed", "delayed"]) {
      expect((await statusTab(empty).innerText()).trim()).toMatch(new RegExp(`^${empty}$`, "i"));
    }
    // The jobs are listed with their data: the engagement, and the account token only sealed.
    await page.getByText('"waiting row 3"').first().waitFor({ timeout: 10_000 });
    expect(await page.locator("main").innerText()).not.toContain(TOKEN);

    mkdirSync(join(root, "test-results"), { recursive: true });
    await page.screenshot({ path: screenshot });
    process.stdout.write(`bull-board: screenshot saved to ${screenshot}\n`);
  }, 20_000);

  test("the failed tab shows the refused row: its job id, its reason, and its data", async () => {
    await statusTab("failed").click();
    await page.waitForURL(`${board.url}/queue/${QUEUE_NAME}?status=failed`);
    expect(failedJobId).toMatch(/^mce-/);
    await page.getByText(failedJobId, { exact: true }).waitFor({ timeout: 10_000 });
    // A failed job opens on its Error tab, with BullMQ's failed reason: what FailedJob.reason gives.
    await page.getByText(/Rejected: MergeBadRequestError 400/).first().waitFor({ timeout: 10_000 });
    await page.getByRole("tab", { name: "Data" }).click();
    await page.getByText('"refuse me"').first().waitFor({ timeout: 10_000 });
    const main = await page.locator("main").innerText();
    expect(main).not.toContain("waiting row");
    expect(main).not.toContain(TOKEN);
  }, 20_000);
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits for the locator's text (trimmed) to match: the UI fills its counts after its first poll. */
async function untilText(locator: Locator, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  let last = "";
  try {
    await until(`${String(pattern)}`, async () => pattern.test((last = (await locator.innerText({ timeout: timeoutMs })).trim())), timeoutMs);
  } catch (error) {
    throw new Error(`expected ${String(pattern)}, the page shows ${JSON.stringify(last)}`, { cause: error });
  }
}
