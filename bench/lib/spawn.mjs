import { spawn } from "node:child_process";

/** Runs a command, resolves with its wall time (ms), exit code and output; never throws on exit code. */
export function timed(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    let stdout = "";
    let stderr = "";
    const marks = [];
    child.stdout?.on("data", (chunk) => {
      const text = chunk.toString();
      stdout += text;
      // Banners of the generation pipeline (`==> step`), timed as they arrive.
      for (const line of text.split("\n")) if (line.startsWith("==> ")) marks.push({ step: line.slice(4).trim(), atMs: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
    child.stderr?.on("data", (chunk) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stdout, stderr, marks }));
  });
}

export async function mustSucceed(what, promise) {
  const result = await promise;
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}
