/** The queue commands' command line (issue 18): enqueue, worker, status --redis. No Redis needed. */
import { parseCommand, redisForDisplay } from "../../src/cli/args.js";
import { RepeatedLines, workerLine } from "../../src/cli/commands/worker.js";
import { usageErrorOf } from "./run-cli.js";

const REDIS = "redis://127.0.0.1:6379";

const usageError = usageErrorOf;

test("enqueue: defaults (the library's queue name), every flag, the token from the flag over MERGE_ACCOUNT_TOKEN", () => {
  expect(parseCommand(["enqueue", "rows.ndjson", "--redis", REDIS], {})).toEqual({ command: "enqueue", file: "rows.ndjson", format: "ndjson", redis: REDIS, json: false });
  expect(
    parseCommand(["enqueue", "rows.txt", "--redis", REDIS, "--queue", "crm", "--format", "csv", "--account-token", "tok", "--key", "crm_id", "--json"], {
      MERGE_ACCOUNT_TOKEN: "env-tok",
      MERGE_QUEUE_SECRET: "a-secret-of-16-chars",
    }),
  ).toEqual({ command: "enqueue", file: "rows.txt", format: "csv", redis: REDIS, queue: "crm", accountToken: "tok", keyField: "crm_id", secret: "a-secret-of-16-chars", json: true });
  expect(parseCommand(["enqueue", "a.csv", "--redis", REDIS], { MERGE_ACCOUNT_TOKEN: "env-tok", MERGE_QUEUE_SECRET: "a-secret-of-16-chars" })).toMatchObject({ accountToken: "env-tok" });
});

test("worker: defaults to the embedded mock; rate, concurrency, failure guard, region or base URL; the secret from MERGE_QUEUE_SECRET", () => {
  expect(parseCommand(["worker", "--redis", REDIS], {})).toEqual({ command: "worker", redis: REDIS, target: { kind: "mock" } });
  expect(
    parseCommand(["worker", "--redis", "rediss://:pw@redis.example:6380/2", "--queue", "crm", "--rate", "enterprise", "--concurrency", "20", "--failure-guard", "strict", "--region", "eu"], {
      MERGE_API_KEY: "sk",
      MERGE_QUEUE_SECRET: "a-secret-of-16-chars",
    }),
  ).toEqual({
    command: "worker",
    redis: "rediss://:pw@redis.example:6380/2",
    queue: "crm",
    rate: "enterprise",
    concurrency: 20,
    failureGuard: "strict",
    secret: "a-secret-of-16-chars",
    target: { kind: "api", apiKey: "sk", region: "eu" },
  });
  expect(parseCommand(["worker", "--redis", REDIS, "--rate", "250", "--base-url", "http://127.0.0.1:9"], { MERGE_API_KEY: "sk" })).toMatchObject({ rate: 250, target: { kind: "url", baseUrl: "http://127.0.0.1:9" } });
});

test("status: --journal reads a journal as before, --redis a queue", () => {
  expect(parseCommand(["status", "--journal", "j", "--json"], {})).toEqual({ command: "status", journal: "j", json: true });
  expect(parseCommand(["status", "--redis", REDIS], {})).toEqual({ command: "queue-status", redis: REDIS, json: false });
  expect(parseCommand(["status", "--redis", REDIS, "--queue", "crm", "--json"], {})).toEqual({ command: "queue-status", redis: REDIS, queue: "crm", json: true });
});

test("each usage or configuration error of the queue commands names its flag or variable", () => {
  expect(usageError(["enqueue", "a.ndjson"])).toMatch(/^--redis URL is required/);
  expect(usageError(["enqueue", "--redis", REDIS])).toMatch(/^enqueue needs a FILE/);
  expect(usageError(["enqueue", "a.ndjson", "b.ndjson", "--redis", REDIS])).toMatch(/^enqueue takes one FILE/);
  expect(usageError(["enqueue", "a.txt", "--redis", REDIS])).toMatch(/^--format/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", "http://127.0.0.1:6379"])).toMatch(/^--redis must be a redis:\/\/ or rediss:\/\/ URL/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", "localhost 6379"])).toMatch(/^--redis is not a URL/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS, "--queue", "a:b"])).toMatch(/^--queue must be 1 to 100 letters/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS], { MERGE_QUEUE_SECRET: "short" })).toBe("MERGE_QUEUE_SECRET must be at least 16 characters");
  expect(usageError(["worker", "--redis", REDIS], { MERGE_QUEUE_SECRET: "short" })).toBe("MERGE_QUEUE_SECRET must be at least 16 characters");
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS, "--queue", ""])).toMatch(/^--queue/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS, "--account-token", "tok"])).toMatch(/^MERGE_QUEUE_SECRET is not set: .*--account-token/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS], { MERGE_ACCOUNT_TOKEN: "tok" })).toMatch(/^MERGE_QUEUE_SECRET is not set: .*MERGE_ACCOUNT_TOKEN/);
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS, "--rate", "100"])).toBe("--rate is an option of import and worker, not enqueue");
  expect(usageError(["enqueue", "a.ndjson", "--redis", REDIS, "--journal", "j"])).toBe("--journal is an option of import and status, not enqueue");

  expect(usageError(["worker"])).toMatch(/^--redis URL is required/);
  expect(usageError(["worker", "rows.ndjson", "--redis", REDIS])).toMatch(/^worker takes no FILE/);
  expect(usageError(["worker", "--redis", REDIS, "--rate", "fast"])).toMatch(/^--rate/);
  expect(usageError(["worker", "--redis", REDIS, "--concurrency", "0"])).toMatch(/^--concurrency/);
  expect(usageError(["worker", "--redis", REDIS, "--failure-guard", "loose"])).toMatch(/^--failure-guard must be adaptive or strict/);
  expect(usageError(["worker", "--redis", REDIS, "--base-url", "http://x"])).toMatch(/^MERGE_API_KEY is not set/);
  expect(usageError(["worker", "--redis", REDIS, "--region", "eu"])).toMatch(/^MERGE_API_KEY is not set: --region needs the API key \(without it the worker delivers into the embedded mock\)/);
  expect(usageError(["worker", "--redis", REDIS, "--region", "eu", "--base-url", "http://x"], { MERGE_API_KEY: "k" })).toMatch(/--region and --base-url/);
  expect(usageError(["worker", "--redis", REDIS, "--json"])).toBe("--json is an option of import, enqueue, status, export and mirror, not worker");
  expect(usageError(["worker", "--redis", REDIS, "--account-token", "t"])).toBe("--account-token is an option of import, enqueue, export and mirror, not worker");

  expect(usageError(["status"])).toMatch(/--journal PATH .* or --redis URL/);
  expect(usageError(["status", "--journal", "j", "--redis", REDIS])).toMatch(/not both/);
  expect(usageError(["status", "--journal", "j", "--queue", "crm"])).toMatch(/^--queue goes with --redis/);
  expect(usageError(["status", "--redis", REDIS, "--rate", "5"])).toBe("--rate is an option of import and worker, not status");
  expect(usageError(["status", "--redis", ""])).toMatch(/^--redis URL is required/);
  expect(usageError(["import", "a.csv", "--redis", REDIS])).toBe("--redis is an option of enqueue, worker and status, not import");
  expect(usageError(["dequeue"])).toMatch(/unknown command 'dequeue': use import, export, mirror, status, enqueue or worker/);
});

test("a Redis URL is shown without its password", () => {
  expect(redisForDisplay("redis://:hunter2@redis.example:6379/0")).toBe("redis://:***@redis.example:6379/0");
  expect(redisForDisplay("rediss://app:hunter2@redis.example")).toBe("rediss://app:***@redis.example");
  expect(redisForDisplay(REDIS)).toBe(REDIS);
  expect(usageError(["worker", "--redis", "http://:hunter2@x"])).not.toContain("hunter2");
});

test("the worker's progress line", () => {
  expect(workerLine({ created: 1200, doneBefore: 3, rejected: 2, failed: 1, retried: 7, deferred: 40, held: 0, active: 5 })).toBe(
    "delivered 1,206 (created 1,200, done before 3, rejected 2, failed 1), retried 7, deferred 40, active 5",
  );
  expect(workerLine({ created: 1200, doneBefore: 3, rejected: 2, failed: 1, retried: 7, deferred: 40, held: 60, active: 5 })).toBe(
    "delivered 1,206 (created 1,200, done before 3, rejected 2, failed 1), retried 7, deferred 40, held 60 (accounts suspended), active 5",
  );
});

test("a log line repeated within the window is counted, and the count shown with its next appearance or at the end", () => {
  let now = 0;
  const out: string[] = [];
  const lines = new RepeatedLines((line) => out.push(line), 30_000, () => now);
  lines.write("error: connect ECONNREFUSED");
  for (let i = 0; i < 5; i++) {
    now += 1000;
    lines.write("error: connect ECONNREFUSED");
  }
  lines.write("pacing: account a at 600/min");
  now += 30_000;
  lines.write("error: connect ECONNREFUSED");
  lines.write("error: connect ECONNREFUSED");
  lines.flush();
  expect(out).toEqual([
    "error: connect ECONNREFUSED",
    "pacing: account a at 600/min",
    "error: connect ECONNREFUSED (repeated 5 times since it was last shown)",
    "error: connect ECONNREFUSED (repeated once since it was last shown)",
  ]);
});
