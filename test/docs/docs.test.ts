/**
 * The docs site (`npm run docs`), opened in a real (Debian) Chromium through playwright-core.
 *
 * The site: served by a static server as any host would, every page built opens without a console
 * error, a page error or a request leaving the site (a full load of the home page, the guides, the
 * project pages and each entry's index, then every page through the site's router, as a click opens
 * it); every internal link (and its #anchor) leads to a page of the site; the search finds `bulkCreate` and `openEngagementMirror`; the API reference has a
 * page for every function each public entry exports; screenshots of the home page and a guide are saved
 * under test-results/.
 *
 * The spec page (docs-dist/spec/index.html, Redoc), opened from the file: the POST
 * operation, its request fields, its 201 response and its TypeScript sample render, every operation
 * (engagements, the contacts, users, accounts and engagement types lookups, and the account details)
 * shows its sample, and so do the webhooks;
 * the page makes no request to the network; a screenshot is saved under test-results/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { publicEntries } from "../../scripts/lib.js";

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
  const file = pathToFileURL(join(root, "docs-dist", "spec", "index.html")).href;
  await page.goto(`${file}#/engagements/engagementscreate`, { waitUntil: "load" });
  operation = page.locator('[id="engagements/engagementscreate"]');
  await operation.waitFor({ timeout: 30_000 });
}, 300_000);

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
  const file = pathToFileURL(join(root, "docs-dist", "spec", "index.html")).href;
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
  const file = pathToFileURL(join(root, "docs-dist", "spec", "index.html")).href;
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

// The site, served over HTTP as a static host serves it (VitePress's pages and assets are absolute paths).

const site = join(root, "docs-dist");

/** A static server of docs-dist/: `/x/` is `/x/index.html`, `/x` may be `/x.html`. */
async function serveSite(): Promise<{ origin: string; close(): Promise<void> }> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".woff2": "font/woff2", ".png": "image/png" };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const file = siteFile(path);
    if (file === undefined) {
      response.writeHead(404, { "content-type": "text/html" }).end(readFileSync(join(site, "404.html")));
      return;
    }
    // VitePress names its assets by their content's hash: a host may let browsers keep them, as this one does.
    const caching = path.startsWith("/assets/") ? { "cache-control": "public, max-age=31536000, immutable" } : {};
    response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", ...caching }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The built file a path of the site names, or `undefined`. */
function siteFile(path: string): string | undefined {
  const candidates = path.endsWith("/") ? [`${path}index.html`] : [path, `${path}.html`, `${path}/index.html`];
  for (const candidate of candidates) {
    const file = join(site, normalize(candidate));
    if (file.startsWith(site) && existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** A built file's path on the site: `/guide/bulk-import.html`. */
function sitePath(file: string): string {
  return `/${relative(site, file).split(sep).join("/")}`;
}

/** Every built page's path (`/guide/bulk-import.html`), the spec page and the 404 page left out. */
function sitePages(dir = site): string[] {
  const pages: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (file !== join(site, "spec") && file !== join(site, "assets")) pages.push(...sitePages(file));
    } else if (entry.name.endsWith(".html") && file !== join(site, "404.html")) pages.push(sitePath(file));
  }
  return pages.sort();
}

describe("the site", () => {
  let server: { origin: string; close(): Promise<void> };
  let sitePage: Page;
  const problems: string[] = [];
  let where = "";

  /** A tab that reports console errors, page errors, failed loads and requests leaving the site, each with the page it was on. */
  async function watchedTab(label: () => string): Promise<Page> {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    tab.on("console", (message) => {
      if (message.type() === "error") problems.push(`${label()}: console error: ${message.text()}`);
    });
    tab.on("pageerror", (error) => problems.push(`${label()}: page error: ${error.message}`));
    tab.on("request", (request) => {
      if (!request.url().startsWith(server.origin) && !/^(data|blob|about):/.test(request.url())) problems.push(`${label()}: a request leaves the site: ${request.url()}`);
    });
    tab.on("response", (response) => {
      if (response.status() >= 400) problems.push(`${label()}: ${response.status()} for ${response.url()}`);
    });
    return tab;
  }

  beforeAll(async () => {
    server = await serveSite();
    sitePage = await watchedTab(() => where);
  }, 30_000);

  afterAll(async () => {
    await sitePage?.close();
    await server?.close();
  });

  test("every page opens without a console error (the guides, project pages and each entry's index by a full load; all of them through the site's router, as a click opens them), and every internal link and anchor leads to a page of the site", async () => {
    const pages = sitePages();
    expect(pages.length).toBeGreaterThan(100);
    // A full load of each page that is not one symbol's API page: the server's HTML, then Vue mounting on it (hydration), when its errors would show.
    const symbolPage = /^\/api\/.*\/(functions|classes|interfaces|type-aliases|variables)\//;
    // `npm run test:docs:full` (DOCS_FULL_LOADS=1) loads every page in full.
    const fullLoads = process.env["DOCS_FULL_LOADS"] === "1" ? pages : pages.filter((path) => !symbolPage.test(path));
    for (const path of fullLoads) {
      where = `${path} (a full load)`;
      await sitePage.goto(`${server.origin}${path}`, { waitUntil: "load" });
      await sitePage.waitForFunction(() => "__vue_app__" in (document.querySelector("#app") ?? {}), undefined, { timeout: 15_000 });
    }
    // Then every page through the router, as a click on a link opens it: its own code loaded and rendered in the running app.
    // (A full load of each of the 200-odd symbol pages cost four times as much and showed nothing more.)
    for (const path of pages) {
      where = `${path} (the router)`;
      await sitePage.evaluate((href) => {
        const link = document.createElement("a");
        link.href = href;
        document.body.append(link);
        link.click();
        link.remove();
      }, path);
      // Arrived once the address is the page's and the title is the one its built HTML has (VitePress sets it once the page has loaded).
      const title = /<title>([^<]*)<\/title>/.exec(readFileSync(join(site, path), "utf8"))?.[1] ?? "";
      await sitePage.waitForFunction(
        ([href, escaped]) => {
          const decoder = document.createElement("textarea");
          decoder.innerHTML = escaped;
          const here = location.pathname;
          const arrived = here === href || here === href.replace(/index\.html$/, "") || here === href.replace(/\.html$/, "");
          return arrived && document.title === decoder.value;
        },
        [path, title] as const,
        { timeout: 15_000 },
      );
    }
    await sitePage.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    expect(problems).toEqual([]);

    // The links, from the pages as built (what the browser is given before the app mounts, and what it then renders).
    const html = (path: string) => readFileSync(join(site, path), "utf8");
    const hrefsIn = (path: string) => Array.from(html(path).matchAll(/<a\s[^>]*?href="([^"]*)"/g), (m) => (m[1] ?? "").replaceAll("&amp;", "&"));
    const idsOf = new Map<string, Set<string>>();
    const ids = (path: string) => idsOf.get(path) ?? idsOf.set(path, new Set(Array.from(html(path).matchAll(/\sid="([^"]+)"/g), (m) => m[1] ?? ""))).get(path) ?? new Set();
    const broken: string[] = [];
    const targets = new Set<string>();
    let followed = 0;
    for (const path of pages) {
      for (const href of hrefsIn(path)) {
        const url = new URL(href, `${server.origin}${path}`);
        if (url.origin !== server.origin) continue;
        followed++;
        const file = siteFile(decodeURIComponent(url.pathname));
        if (file === undefined) {
          broken.push(`${path} -> ${url.pathname}: no such page`);
          continue;
        }
        const target = sitePath(file);
        targets.add(target);
        const hash = decodeURIComponent(url.hash.slice(1));
        if (hash !== "" && target !== "/spec/index.html" && !ids(target).has(hash)) broken.push(`${path} -> ${target}#${hash}: no such anchor`);
      }
    }
    process.stdout.write(`docs site: ${fullLoads.length} pages loaded in Chromium and ${pages.length} opened through its router; ${followed} internal links checked, to ${targets.size} pages\n`);
    expect(broken).toEqual([]);
    // The navigation reaches the guides, the API reference, the spec page and the project's files.
    expect([...targets]).toEqual(expect.arrayContaining(["/guide/getting-started.html", "/api/index.html", "/spec/index.html", "/project/changelog.html"]));
    // The reference's sidebar names each entry point.
    const sidebar = hrefsIn("/api/index.html");
    for (const { specifier } of publicEntries()) expect(sidebar).toContain(`/api/${specifier}/`);
  }, 420_000);

  test.each(["bulkCreate", "openEngagementMirror"])("the search finds %s and leads to its API page", async (name) => {
    where = `search ${name}`;
    await sitePage.goto(`${server.origin}/`, { waitUntil: "load" });
    await sitePage.locator("button.DocSearch-Button").click();
    await sitePage.locator("#localsearch-input").fill(name);
    const result = sitePage.locator(`ul.results a.result[href*="/functions/${name}"]`).first();
    await result.waitFor({ timeout: 10_000 });
    await result.click();
    await sitePage.waitForURL(new RegExp(`/functions/${name}\\.html`), { timeout: 10_000 });
    expect(await sitePage.locator("h1").first().innerText()).toContain(name);
    expect(problems).toEqual([]);
  }, 30_000);

  test("the API reference has a page, with its description, for every function each public entry exports", async () => {
    const missing: string[] = [];
    let functions = 0;
    for (const { specifier: entry, source } of publicEntries()) {
      const exported = (await import(join(root, source))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(exported)) {
        if (typeof value !== "function" || Function.prototype.toString.call(value).startsWith("class")) continue;
        functions++;
        if (siteFile(`/api/${entry}/functions/${name}.html`) === undefined) {
          missing.push(`${entry}: ${name}`);
          continue;
        }
        // And the page says what the function does: its TSDoc, beyond the signature and the parameter list.
        const source = readFileSync(join(root, "docs", "api", entry, "functions", `${name}.md`), "utf8");
        const prose = source
          .replace(/```[\s\S]*?```/g, "")
          .split("\n")
          .filter((line) => line.trim() !== "" && !/^(#|\[merge-crm|`|\||\*\*\*)/.test(line));
        if (prose.join(" ").length < 20) missing.push(`${entry}: ${name} (no description)`);
      }
    }
    expect(functions).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  }, 60_000);

  test("screenshots of the home page and of a guide are saved", async () => {
    mkdirSync(join(root, "test-results"), { recursive: true });
    where = "screenshots";
    await sitePage.goto(`${server.origin}/`, { waitUntil: "load" });
    await sitePage.screenshot({ path: join(root, "test-results", "docs-home.png") });
    await sitePage.goto(`${server.origin}/guide/sync-and-mirror.html`, { waitUntil: "load" });
    await sitePage.locator(".VPDoc h1").waitFor({ timeout: 10_000 });
    await sitePage.screenshot({ path: join(root, "test-results", "docs-guide-sync-and-mirror.png") });
    expect(problems).toEqual([]);
    process.stdout.write(`docs site: screenshots saved to test-results/docs-home.png and test-results/docs-guide-sync-and-mirror.png\n`);
  }, 30_000);
});
