// The real-Redis harness (test/support/redis.ts) itself: commands reach the server, an AOF server keeps
// an acknowledged write across a SIGKILL and a restart, and stop() leaves no process or directory.
import { existsSync } from "node:fs";
import { startRedis, useRedis } from "../support/redis.js";
import { isAlive } from "../support/processes.js";

describe("useRedis", () => {
  const redis = useRedis();

  test("answers commands on its port, with no persistence", async () => {
    expect(redis().url).toBe(`redis://127.0.0.1:${redis().port}`);
    expect(await redis().command("SET", "greeting", "hello world")).toBe("OK");
    expect(await redis().command("GET", "greeting")).toBe("hello world");
    expect(await redis().command("CONFIG", "GET", "appendonly")).toBe("appendonly\nno");
    expect(await redis().command("CONFIG", "GET", "maxmemory-policy")).toBe("maxmemory-policy\nnoeviction");
  });
});

test("with an AOF, a write survives a SIGKILL and a restart on the same port", async () => {
  const server = await startRedis({ aof: true });
  try {
    expect(await server.command("SET", "job:1", "sent")).toBe("OK");
    const killedPid = server.pid;
    await server.kill();
    expect(isAlive(killedPid)).toBe(false);
    await expect(server.command("PING")).rejects.toThrow(/redis-cli/);

    await server.restart();
    expect(server.pid).not.toBe(killedPid);
    expect(await server.command("GET", "job:1")).toBe("sent");
  } finally {
    await server.stop();
  }
});

test("stop() ends the process and removes its directory", async () => {
  const server = await startRedis();
  const { pid, dir } = server;
  expect(isAlive(pid)).toBe(true);
  await server.stop();
  expect(() => process.kill(pid, 0)).toThrow();
  expect(existsSync(dir)).toBe(false);
});
