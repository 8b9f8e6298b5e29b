/**
 * The published docs page, opened in a real (Debian) Chromium through playwright-core: the POST
 * operation, its request fields, its 201 response and its TypeScript sample render, every operation
 * (engagements, the contacts, users, accounts and engagement types lookups, and the account details)
 * shows its sample, and so do the webhooks;
 * the page makes no request to the network; a screenshot is saved under test-results/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const screenshot = join(root, "test-results", "docs-post-engagement.png");

let browser: Browser;
let page: Page;
let operation: Locator;
const outside: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  execFileSync("npm", ["run", "-s", "docs"], { cwd: root, stdio: "pipe" });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on("request", (request) => {
    const url = request.url();
    if (!/^(file|data|blob|about):/.test(url)) outside.push(url);
  });
  const file = pathToFileURL(join(root, "docs-dist", "index.html")).href;
  await page.goto(`${file}#/engagements/engagementscreate`, { waitUntil: "load" });
  operation = page.locator('[id="engagements/engagementscreate"]');
  await operation.waitFor({ timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

test("the POST operation renders with its parameters, request fields and 201 response", async () => {
  const text = await operation.innerText();
  expect(text).toContain("Create an engagement");
  expect(text).toContain("X-Account-Token");
  expect(text).toContain("Idempotency-Key");
  expect(text).toContain("is_debug_mode");
  expect(text).toContain("run_async");
  for (const field of ["owner", "subject", "direction", "start_time", "contacts", "engagement_url", "integration_params", "remote_fields"]) {
    await page.locator(`[id="engagements/engagementscreate/t=request&path=model/${field}"]`).waitFor({ timeout: 10_000 });
  }
  const url = await page.locator('[id="engagements/engagementscreate/t=request&path=model/engagement_url"]').innerText();
  expect(url).toContain("The engagement's URL in the remote (third-party) system.");
  await page.getByText("201", { exact: true }).first().waitFor({ timeout: 10_000 });
  const whole = await page.locator("body").innerText();
  expect(whole).toMatch(/POST\s*\/crm\/v1\/engagements/);
}, 30_000);

test("each operation shows the TypeScript sample of this client", async () => {
  // Redoc's anchor of an operation: its tag, then its operationId in lower case.
  const calls: Record<string, string> = {
    "engagements/engagementscreate": "merge.engagements.create(",
    "engagements/engagementslist": "merge.engagements.list(",
    "engagements/engagementsretrieve": "merge.engagements.retrieve(",
    "engagements/engagementspartialupdate": "merge.engagements.update(",
    "engagements/engagementsmetapostretrieve": "merge.engagements.metaForCreate(",
    "engagements/engagementsmetapatchretrieve": "merge.engagements.metaForUpdate(",
    "engagements/engagementsremotefieldclasseslist": "merge.engagements.allRemoteFieldClasses(",
    "contacts/contactslist": "merge.contacts.list(",
    "contacts/contactscreate": "merge.contacts.create(",
    "contacts/contactsretrieve": "merge.contacts.retrieve(",
    "contacts/contactsmetapostretrieve": "merge.contacts.metaForCreate(",
    "users/userslist": "merge.users.list(",
    "users/usersretrieve": "merge.users.retrieve(",
    "accounts/accountslist": "merge.accounts.list(",
    "accounts/accountsretrieve": "merge.accounts.retrieve(",
    "engagement-types/engagementtypeslist": "merge.engagementTypes.listAll(",
    "engagement-types/engagementtypesretrieve": "merge.engagementTypes.retrieve(",
    "account-details/accountdetailsretrieve": "merge.accountDetails.retrieve(",
  };
  const file = pathToFileURL(join(root, "docs-dist", "index.html")).href;
  for (const [id, call] of Object.entries(calls)) {
    // Only the open tag's group is expanded in the menu: open each operation by its address, as a shared link would.
    await page.goto(`${file}#/${id}`, { waitUntil: "load" });
    const section = page.locator(`[id="${id}"]`);
    await section.getByText("createMergeCrmClient").first().waitFor({ timeout: 10_000 });
    expect(await section.innerText()).toContain(call);
  }
  // Back to the create operation for the screenshot.
  await page.goto(`${file}#/engagements/engagementscreate`, { waitUntil: "load" });
  await operation.getByText("createMergeCrmClient").first().waitFor({ timeout: 10_000 });
}, 90_000);

test("the webhooks render: each event, its signature header and its payload", async () => {
  const events: Record<string, string> = {
    webhookengagementadded: "Engagement.added",
    webhookengagementchanged: "Engagement.changed",
    webhookengagementremoved: "Engagement.removed",
    webhooklinkedaccountsynced: "LinkedAccount.synced",
    webhooklinkedaccountfullysyncedinitial: "LinkedAccount.fully_synced_initial",
  };
  const file = pathToFileURL(join(root, "docs-dist", "index.html")).href;
  for (const [id, event] of Object.entries(events)) {
    // The menu's "Webhooks" group starts collapsed: open each event by its address, as a shared link would.
    await page.goto(`${file}#/webhooks/${id}`, { waitUntil: "load" });
    const section = page.locator(`[id="webhooks/${id}"]`);
    await section.waitFor({ timeout: 10_000 });
    const text = await section.innerText();
    expect(text).toContain("X-Merge-Webhook-Signature");
    expect(text).toContain("linked_account");
    expect(text).toContain(event);
    expect(text).toContain("HMAC-SHA256 of the raw request body");
    await page.locator(`[id="webhooks/${id}/t=request&path=data"]`).waitFor({ timeout: 10_000 });
  }
  await page.goto(`${file}#/engagements/engagementscreate`, { waitUntil: "load" });
  await operation.waitFor({ timeout: 30_000 });
}, 60_000);

test("the page makes no request to the network, and a screenshot is saved", async () => {
  mkdirSync(join(root, "test-results"), { recursive: true });
  await page.screenshot({ path: screenshot });
  expect(existsSync(screenshot)).toBe(true);
  expect(outside).toEqual([]);
  process.stdout.write(`docs: screenshot saved to ${screenshot}\n`);
}, 30_000);
