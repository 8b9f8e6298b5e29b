/**
 * The docs site (VitePress): the guides in docs/guide/, the API reference TypeDoc writes into docs/api/
 * from the TSDoc of every public entry, the project's own files (CHANGELOG and the rest, copied into
 * docs/project/ by scripts/docs.ts) and the spec page (Redoc, written into docs/public/spec/, served
 * as it is at /spec/index.html). `npm run docs` builds it into docs-dist/; `npm run docs:dev` serves it.
 */
import { defineConfig } from "vitepress";
import apiSidebar from "../api/typedoc-sidebar.json";

const guides = [
  { text: "Getting started", link: "/guide/getting-started" },
  { text: "Naming contacts, owner, account, type", link: "/guide/references" },
  { text: "Account-aware writes", link: "/guide/account-aware-writes" },
  { text: "Errors and retries", link: "/guide/errors-and-retries" },
  { text: "Bulk import", link: "/guide/bulk-import" },
  { text: "Writes from a fleet (queue)", link: "/guide/queue" },
  { text: "Receiving webhooks", link: "/guide/webhooks" },
  { text: "Sync and the mirror", link: "/guide/sync-and-mirror" },
  { text: "The command line", link: "/guide/cli" },
  { text: "Runtimes, transports, bundling", link: "/guide/runtimes-and-bundling" },
  { text: "Testing against the mock", link: "/guide/mock" },
];

/** A sidebar entry of TypeDoc's tree (typedoc-vitepress-theme): a module's page, or a folder of them. */
interface ApiItem {
  text: string;
  link?: string | null;
  items?: ApiItem[];
}

/**
 * The package's entry points from TypeDoc's tree, as links: `merge-crm-engagements` (the module with a
 * page) first, then `merge-crm-engagements/bulk` and the other layers (a folder named like the core, whose
 * items are the layers' pages).
 */
function entryPoints(tree: readonly ApiItem[]): { text: string; link: string }[] {
  const core = tree.filter((item) => item.link).map((item) => ({ text: item.text, link: item.link ?? "" }));
  const layers = tree.filter((item) => !item.link).flatMap((folder) => (folder.items ?? []).filter((item) => item.link).map((item) => ({ text: `${folder.text}/${item.text}`, link: item.link ?? "" })));
  return [...core, ...layers];
}

const project = [
  { text: "Changelog", link: "/project/changelog" },
  { text: "Architecture", link: "/project/architecture" },
  { text: "Contributing", link: "/project/contributing" },
  { text: "Benchmarks", link: "/project/benchmarks" },
];

/** `../../CHANGELOG.md#x` (a guide's link that works on GitHub) becomes the site's `/project/changelog.md#x`. */
const PROJECT_LINK = /^(?:\.\.\/)+(CHANGELOG|ARCHITECTURE|CONTRIBUTING|BENCHMARKS)\.md(#.*)?$/;

export default defineConfig({
  markdown: {
    config(md) {
      md.core.ruler.push("project-links", (state) => {
        for (const block of state.tokens) {
          for (const token of block.children ?? []) {
            const href = token.type === "link_open" ? token.attrGet("href") : null;
            const match = href === null ? null : PROJECT_LINK.exec(href);
            if (match) token.attrSet("href", `/project/${(match[1] ?? "").toLowerCase()}.md${match[2] ?? ""}`);
          }
        }
      });
    },
  },
  title: "merge-crm-engagements",
  description: "A typed TypeScript client for Merge's CRM Engagements API: calls, meetings and emails into your customers' CRMs.",
  outDir: "../docs-dist",
  // The site is opened offline and from any folder a static server serves: no request leaves it.
  head: [["link", { rel: "icon", type: "image/svg+xml", href: "/favicon.svg" }]],
  lastUpdated: false,
  themeConfig: {
    nav: [
      { text: "Guides", link: "/guide/getting-started", activeMatch: "/guide/" },
      { text: "API reference", link: "/api/", activeMatch: "/api/" },
      // Redoc's page is not a VitePress page: a full load, not the router.
      { text: "OpenAPI spec", link: "/spec/index.html", target: "_self" },
      { text: "Project", items: project },
    ],
    sidebar: {
      "/guide/": [{ text: "Guides", items: guides }],
      // One entry per package entry point; each entry's page lists its functions, classes and types.
      // (The full tree, over 200 links on every page, made each page of the reference slower to open.)
      "/api/": [{ text: "API reference", link: "/api/", items: entryPoints(apiSidebar) }],
      "/project/": [{ text: "Project", items: project }],
    },
    outline: [2, 3],
    search: { provider: "local" },
  },
});
