/**
 * The child process behind `startMockServer` (not a public entry point): Prism's HTTP server built as
 * `prism mock --errors` builds it, but logging through pino straight to stdout.
 *
 * Why not the CLI: its log formatter re-reads each of pino's JSON lines through `jsonrepair`, which
 * mangles some valid JSON (a string holding `[` inside an array, for example `["[x"],"y":1`), and then
 * throws on the mangled line (`constructPrefix` reads `.index` of an unknown logger name). The
 * "Request received" line carries the request body, so one such body, valid or not, killed the mock.
 * Here nothing parses the log: request content is only ever serialized.
 *
 * Prism's packages are loaded from where `@stoplight/prism-cli` resolves them, so they are the
 * versions the CLI would run. Started with one argument, the JSON of `RunnerConfig`, and an IPC
 * channel: it sends `{ listening: url }` once it listens, and exits when its parent goes away.
 */
import { createRequire } from "node:module";

/** What `startMockServer` passes (as JSON in argv[2]). */
export interface RunnerConfig {
  /** The path of `@stoplight/prism-cli/package.json`. */
  prismCli: string;
  spec: string;
  host: string;
  port: number;
  errors: boolean;
}

// The few members of Prism's modules used here.
interface PrismLogger {
  info(message: string): void;
  child(bindings: { name: string }): PrismLogger;
}
interface PrismCore {
  createLogger(name: string, options: object, destination: NodeJS.WritableStream): PrismLogger;
}
interface PrismHttp {
  getHttpOperationsFromSpec(spec: string): Promise<unknown[]>;
}
interface PrismHttpServer {
  createServer(operations: unknown[], options: object): { listen(port: number, host: string): Promise<string> };
}
interface PrismCliExtensions {
  configureExtensionsUserProvided(spec: string, fakerOptions: object): Promise<void>;
}

async function main(config: RunnerConfig): Promise<void> {
  const load = createRequire(config.prismCli);
  const { createLogger } = load("@stoplight/prism-core") as PrismCore;
  const { getHttpOperationsFromSpec } = load("@stoplight/prism-http") as PrismHttp;
  const { createServer } = load("@stoplight/prism-http-server") as PrismHttpServer;
  const { configureExtensionsUserProvided } = load("./dist/extensions.js") as PrismCliExtensions;

  const logger = createLogger(
    "CLI",
    {
      level: "info",
      formatters: { level: (label: string) => ({ level: label }) },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
    },
    process.stdout,
  );
  const operations = await getHttpOperationsFromSpec(config.spec);
  if (operations.length === 0) throw new Error(`No operations found in ${config.spec}`);
  // As `prism mock` does (it applies the spec's x-json-schema-faker options).
  await configureExtensionsUserProvided(config.spec, { fillProperties: undefined });
  // The configuration `prism mock <spec> [--errors]` gives createServer (prism-cli's createServer.js).
  const server = createServer(operations, {
    cors: true,
    config: {
      validateRequest: true,
      validateResponse: true,
      checkSecurity: true,
      errors: config.errors,
      upstreamProxy: undefined,
      mock: { dynamic: false, ignoreExamples: false, seed: null },
      isProxy: false,
    },
    components: { logger: logger.child({ name: "HTTP SERVER" }) },
  });
  const address = await server.listen(config.port, config.host);
  logger.info(`Prism is listening on ${address}`);
  process.send?.({ listening: address });
}

// A mock must not outlive the process that started it, even one killed with SIGKILL.
process.once("disconnect", () => process.exit(0));

const raw = process.argv[2];
if (raw === undefined) {
  process.stderr.write("mock-runner: expected the configuration as its first argument\n");
  process.exit(2);
}
main(JSON.parse(raw) as RunnerConfig).catch((error: unknown) => {
  process.stderr.write(`Prism could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
