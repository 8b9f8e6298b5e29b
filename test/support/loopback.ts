/**
 * A test HTTP server on a free loopback port. `stop()` destroys the connections still open (kept-alive
 * sockets, requests left hanging on purpose) before closing, so a test run never waits on them.
 */
import type { Server } from "node:http";
import { createServer, type AddressInfo, type Socket } from "node:net";

export interface Loopback {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  stop(): Promise<void>;
}

/** `backlog`: pending connections the kernel queues (Node's default 511 when not given). */
export async function listenOnLoopback(server: Server, backlog?: number): Promise<Loopback> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", ...(backlog !== undefined && { backlog }) }, resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A loopback port that was free a moment ago, for a server we start as a child process (Redis,
 * Postgres): listen on port 0, read the port, close. Another process can take it before the child
 * binds it, so callers retry on "Address already in use".
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
