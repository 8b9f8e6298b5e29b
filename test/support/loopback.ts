/**
 * A test HTTP server on a free loopback port. `stop()` destroys the connections still open (kept-alive
 * sockets, requests left hanging on purpose) before closing, so a test run never waits on them.
 */
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Loopback {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  stop(): Promise<void>;
}

export async function listenOnLoopback(server: Server): Promise<Loopback> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
