/**
 * The fleet's shared state, kept in Redis and changed only by the Lua scripts of `lua/` (atomic: every
 * worker of every machine sees one order of events, on Redis's clock, never its own).
 *
 * **Pacing** (per linked account, over every worker): the in-process pacer's rules (`src/delivery/pacer.ts`)
 * on shared state. A send reserves its start on the account's schedule, an interval after the previous
 * one, never more than `WINDOW_SHARE` of the rate's share of any `PACE_WINDOW_MS`; a reservation more
 * than `horizon` ms ahead is refused instead (the job waits in Redis, delayed, not in a worker, until a
 * turn of its own: those sent back are spread an interval apart, each at the rate the account will have
 * recovered to by its turn). A 429 pauses the account for its `Retry-After` and halves its rate (once
 * per burst); every `RECOVERY_STEP_MS` without one after the pause the rate doubles (by at least
 * `RECOVERY_SHARE` of the nominal rate): the in-process pacer's rule and numbers.
 *
 * **Failure guard** (per scope, one egress IP by default): the in-process guard's rules
 * (`src/delivery/failure-guard.ts`, strict and adaptive) on shared state: failures by send time in the
 * window, requests unanswered (each tagged with its worker: a worker that stops beating its heart for
 * `deadAfter` ms has its requests dropped, as their answers will never come), the failure rate of the
 * latest answers, the probation after a failure, and the run of failures in send order. After
 * `stopAfter` failures in a row a worker does not stop: the guard holds every send for a back-off and
 * then lets one probe through.
 *
 * Each script is a file of `lua/` named after what it does, opening with its KEYS, ARGV and what it
 * returns; the pieces they share are in `lua/includes/`, pulled in by a `--- @include "name"` line. Every
 * number comes in as ARGV[1] (`script-rules.ts`). The files are read beside this module: `src/queue/lua/`
 * in the repository, `dist/lua/` in the package (tsup.config.ts copies them).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The fleet's scripts, by file name in `lua/`. */
export type FleetScript = "admit" | "settle" | "suspend" | "heartbeat";

const INCLUDE = /^--- @include "([^"]+)"[ \t]*$/gm;
const loaded = new Map<FleetScript, string>();

/** The folder of the `.lua` files: `lua/` beside this module, or beside the bundle it was built into. */
export function luaDirectory(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "lua");
}

/** A script's text, its includes pulled in (each once, where it is first named); read once per process. */
export function fleetScript(name: FleetScript): string {
  let text = loaded.get(name);
  if (text === undefined) {
    text = withIncludes(join(luaDirectory(), `${name}.lua`), new Set());
    loaded.set(name, text);
  }
  return text;
}

function withIncludes(path: string, seen: Set<string>): string {
  seen.add(path);
  return readFileSync(path, "utf8").replace(INCLUDE, (_, name: string) => {
    const included = join(dirname(path), `${name}.lua`);
    return seen.has(included) ? "" : withIncludes(included, seen);
  });
}
