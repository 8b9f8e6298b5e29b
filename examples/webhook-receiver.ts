/**
 * A webhook receiver to try against the mock (or Merge): Express 5, the handler mounted before
 * `express.json()`, each event printed as one line.
 *
 *   npx tsx examples/webhook-receiver.ts
 *   # in another terminal: the main job, with the mock sending its webhooks here
 *   MERGE_WEBHOOK_URL=http://127.0.0.1:3000/webhooks/merge npm start
 *
 * Settings, from the environment: `MERGE_WEBHOOK_KEY` (default "mock-webhook-key", the key `npm start`
 * gives the mock when MERGE_WEBHOOK_KEY is unset), `PORT` (default 3000), `HOST` (default 127.0.0.1).
 */
import express from "express";
// In your app: import { ... } from "merge-crm-engagements/webhooks";
import { createMergeWebhookNodeHandler, isMergeWebhookEvent } from "../src/webhooks/index.js";

const key = process.env["MERGE_WEBHOOK_KEY"] ?? "mock-webhook-key";
const port = Number(process.env["PORT"] ?? 3000);
const host = process.env["HOST"] ?? "127.0.0.1";

const app = express();
app.post(
  "/webhooks/merge",
  createMergeWebhookNodeHandler({
    key,
    onEvent: (event, { id }) => {
      const about = isMergeWebhookEvent(event, "Engagement.added") || isMergeWebhookEvent(event, "Engagement.changed")
        ? `engagement ${event.data.id ?? "?"} "${event.data.subject ?? ""}"`
        : JSON.stringify(event.data).slice(0, 80);
      console.log(`${new Date().toISOString()} ${event.hook.event} for linked account ${event.linked_account.id}: ${about} (delivery ${id.slice(0, 8)}…)`);
    },
    onError: (error, { status }) => console.log(`${new Date().toISOString()} answered ${status}: ${error instanceof Error ? error.message : String(error)}`),
  }),
);
app.use(express.json());
app.listen(port, host, () => console.log(`Receiving Merge webhooks on http://${host}:${port}/webhooks/merge (Ctrl-C to stop)`));
