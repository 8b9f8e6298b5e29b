/**
 * Cursor pagination: request a page, yield it, send its `next` as `cursor` with every other
 * parameter unchanged, stop on `null`. Pages are fetched lazily, one at a time, so a `break` in the
 * caller's `for await` stops fetching and memory stays constant whatever the number of pages.
 */
import { MergeResponseValidationError } from "./errors.js";

/** What every page of the API has. */
export interface Page {
  next?: string | null;
}

export async function* walkPages<P extends Page>(
  firstCursor: string | undefined,
  fetchPage: (cursor: string | undefined) => Promise<P>,
): AsyncGenerator<P, void, undefined> {
  let cursor = firstCursor;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(cursor);
    yield page;
    const next = page.next;
    if (next === null || next === undefined || next === "") return;
    // A server that hands back a cursor it already gave would loop forever: fail instead.
    if (seen.has(next)) {
      throw new MergeResponseValidationError(
        200,
        [{ pointer: "/next", message: "repeats a cursor already followed" }],
        `pagination did not advance: cursor ${JSON.stringify(next)} was already followed`,
      );
    }
    seen.add(next);
    cursor = next;
  }
}
