/** The URL of the Prism started by the global setup. */
export function prismUrl(): string {
  const url = process.env["MERGE_PRISM_URL"];
  if (!url) throw new Error("MERGE_PRISM_URL is not set: run the tests through jest (the global setup starts Prism)");
  return url;
}
