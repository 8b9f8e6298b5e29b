/**
 * The mock survives hostile input, and says so when it dies anyway.
 *
 * `prism mock` (5.14.2, and 5.16.0) dies on some request bodies: its log formatter re-reads each JSON
 * log line through jsonrepair, which mangles a string holding `[` in an array followed by a key holding
 * `}`, and then throws on the mangled line. The "Request received" line carries the body, so the body
 * needs not even be invalid. startMockServer no longer runs that formatter (src/mock/runner.ts).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { startMockServer } from "../../src/mock/index.js";
import { prismClient, prismUrl } from "../support/prism.js";
import { isAlive } from "../support/processes.js";

/** Body 9,054 of the property test with PROPERTY_SEED=777, byte for byte: it killed `prism mock --errors`. */
const CRASH_BODY = readFileSync(new URL("./fixtures/prism-5.14.2-log-crash-body.json", import.meta.url), "utf8");
const HEADERS = { Authorization: "Bearer x", "X-Account-Token": "t", "Content-Type": "application/json" };

describe("the mock survives hostile input", () => {
  test("the body that killed the Prism CLI gets its 400 and violations, and a valid create then succeeds", async () => {
    const response = await fetch(`${prismUrl()}/crm/v1/engagements`, { method: "POST", headers: HEADERS, body: CRASH_BODY });
    await response.arrayBuffer();
    expect(response.status).toBe(400);
    const violations = JSON.parse(response.headers.get("sl-violations") ?? "[]") as { location: string[] }[];
    expect(violations.map((v) => v.location.join("."))).toEqual(
      expect.arrayContaining(["request.body.model.content", "request.body.model.contacts", "request.body.model.linked_account_params"]),
    );

    const created = await prismClient().engagements.create({ subject: "after the crash body" });
    expect(created.model.id).toEqual(expect.any(String));
  });

  test("a valid body of the same shape, which killed the Prism CLI too, is created", async () => {
    const created = await prismClient().engagements.create({ subject: "valid", integration_params: { tags: ["["], "}b": 1 } });
    expect(created.model.id).toEqual(expect.any(String));
    const again = await prismClient().engagements.create({ subject: "still up" });
    expect(again.model.id).toEqual(expect.any(String));
  });
});

describe("startMockServer's handle", () => {
  test("reports an exit it did not ask for: running turns false, exited resolves with the last lines", async () => {
    const mock = await startMockServer();
    expect(mock.running).toBe(true);
    const marker = `marker-${process.pid}-${Date.now()}`;
    const response = await fetch(`${mock.url}/crm/v1/engagements`, { method: "POST", headers: HEADERS, body: JSON.stringify({ model: { subject: marker } }) });
    expect(response.status).toBe(201);

    // A line longer than 2,000 characters (the request log of a 100 kB body) is kept cut, its rest dropped.
    const long = await fetch(`${mock.url}/crm/v1/engagements`, { method: "POST", headers: HEADERS, body: JSON.stringify({ model: { content: "x".repeat(100_000) } }) });
    expect(long.status).toBe(201);

    process.kill(mock.pid, "SIGKILL");
    const exit = await mock.exited;
    expect(exit).toMatchObject({ code: null, signal: "SIGKILL" });
    expect(mock.running).toBe(false);
    expect(exit.output.length).toBeGreaterThan(0);
    expect(exit.output.length).toBeLessThanOrEqual(50);
    // The log up to its death: the request it served (with its body), after the line saying it listened.
    expect(exit.output.some((line) => line.includes("Request received") && line.includes(marker))).toBe(true);
    const cut = exit.output.filter((line) => line.endsWith("…"));
    expect(cut).toHaveLength(1);
    expect(cut[0]).toMatch(/^\{"level":"info".*"xxxxxxxxxx/);
    expect(cut[0]).toHaveLength(2_001);
    // Every other line is one whole JSON log line: no fragment of the long one.
    for (const line of exit.output.filter((l) => !l.endsWith("…"))) expect(() => JSON.parse(line)).not.toThrow();
    await expect(fetch(mock.url)).rejects.toThrow();
    await expect(mock.close()).resolves.toBeUndefined();
  }, 30_000);

  test("close() stops it: exited resolves with SIGTERM", async () => {
    const mock = await startMockServer();
    await mock.close();
    expect(mock.running).toBe(false);
    await expect(mock.exited).resolves.toMatchObject({ code: null, signal: "SIGTERM" });
    expect(isAlive(mock.pid)).toBe(false);
  }, 30_000);

  test("a Prism that cannot start rejects with the error it wrote", async () => {
    await expect(startMockServer({ spec: "/nonexistent/openapi.json" })).rejects.toThrow(
      /Prism exited \(code 1, signal null\) before listening:[\s\S]*Prism could not start:[\s\S]*nonexistent/,
    );
  }, 30_000);

  test("Prism exits when the process that started it is killed", async () => {
    // A parent that starts a mock, prints its pid, and waits to be killed with SIGKILL (no exit hook runs).
    const script = `import { startMockServer } from ${JSON.stringify(new URL("../../src/mock/index.ts", import.meta.url).href)};
      const mock = await startMockServer(); console.log(mock.pid); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.setEncoding("utf8");
      parent.stdout.once("data", (chunk: string) => resolve(Number(chunk.trim())));
      parent.once("exit", (code) => reject(new Error(`the parent exited first (code ${String(code)})`)));
    });
    expect(isAlive(pid)).toBe(true);
    parent.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    expect(isAlive(pid)).toBe(false);
  }, 30_000);
});
