/**
 * `npm start`, the README's first command, as a newcomer runs it (no MERGE_API_KEY): it logs a call
 * by the contact's email, the rep's email, the company's name and CALL against the embedded Prism
 * mock, and prints the ids it resolved and the engagement created.
 */
import { spawn } from "node:child_process";
import { cliEnv, ROOT } from "../cli/run-cli.js";

test("npm start resolves the references on the embedded mock and creates the engagement", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], { cwd: ROOT, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  expect(out).toContain("embedded Prism mock");
  expect(out).toMatch(/Resolved: contact ada@example\.com -> a7c55bc6-2940-c80a-848e-bbfacbfdf4f0, owner rep@example\.com -> [0-9a-f-]{36}, account "Acme Inc" -> [0-9a-f-]{36}, CALL -> engagement type [0-9a-f-]{36}\./);
  expect(out).toMatch(/Created engagement [0-9a-f-]{36}:/);
  expect(code).toBe(0);
}, 60_000);
