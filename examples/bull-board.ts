/**
 * Watching the engagement queue in Bull Board: an Express 5 server with Bull Board's UI on
 * `/admin/queues`, showing the jobs `createEngagementQueue` adds and `startEngagementWorker` delivers
 * (waiting, delayed, active, completed, failed, with each failed job's reason).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/bull-board.ts
 *   # then open http://127.0.0.1:3000/admin/queues
 *
 * Settings, from the environment: `REDIS_URL` (default `redis://127.0.0.1:6379`), `MERGE_QUEUE_NAME`
 * (the `name` given to `createEngagementQueue`; default "merge-crm-engagements"), `PORT` (default 3000),
 * `HOST` (default 127.0.0.1). Needs `npm install express@5 @bull-board/api @bull-board/express`, beside
 * the queue layer's peers `bullmq@6 ioredis@5`.
 *
 * Bull Board has no login of its own and its UI can retry, remove and add jobs: it listens on loopback
 * here; put it behind your app's authentication before you expose it (or pass `readOnlyMode: true` to
 * `BullMQAdapter`). Jobs show their data as stored: account tokens are sealed (AES-256-GCM), never in clear.
 */
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { Queue } from "bullmq";
import express from "express";
// In your app: import { DEFAULT_QUEUE } from "merge-crm-engagements/queue";
import { DEFAULT_QUEUE } from "../src/queue/index.js";

/** The options of `startBullBoard`. */
export interface BullBoardOptions {
  /** The Redis the engagement queue lives in. @default process.env.REDIS_URL ?? "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** The `name` given to `createEngagementQueue`. @default process.env.MERGE_QUEUE_NAME ?? "merge-crm-engagements" */
  queueName?: string;
  /** The port to listen on; 0 picks a free one. @default Number(process.env.PORT ?? 3000) */
  port?: number;
  /** The address to listen on. @default process.env.HOST ?? "127.0.0.1" */
  host?: string;
}

/** A running Bull Board. */
export interface BullBoard {
  /** The board's page, e.g. `http://127.0.0.1:3000/admin/queues`. */
  url: string;
  /** Stops the server and closes the queue's Redis connection. */
  close(): Promise<void>;
}

export const BASE_PATH = "/admin/queues";

export async function startBullBoard(options: BullBoardOptions = {}): Promise<BullBoard> {
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
  const queueName = options.queueName ?? process.env["MERGE_QUEUE_NAME"] ?? DEFAULT_QUEUE;
  const port = options.port ?? Number(process.env["PORT"] ?? 3000);
  const host = options.host ?? process.env["HOST"] ?? "127.0.0.1";

  // Bull Board reads BullMQ's own keys (`bull:<name>:wait`, `:failed`, ...), not this library's API, so
  // it takes a bullmq Queue: one with the name and the (default "bull") prefix createEngagementQueue uses
  // is a second handle on the same queue, and adds no jobs of its own.
  const queue = new Queue(queueName, { connection: { url: redisUrl } });

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter });

  const app = express();
  app.use(BASE_PATH, serverAdapter.getRouter());

  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const listening = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}${BASE_PATH}`,
    async close() {
      // The UI polls: drop its keep-alive connections, or close() would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      await queue.close();
    },
  };
}

// Run directly (`npx tsx examples/bull-board.ts`): start, print the URL, stop on Ctrl-C or SIGTERM.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const board = await startBullBoard();
  console.log(`Bull Board: ${board.url}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void board.close().then(() => process.exit(0)));
  }
}
