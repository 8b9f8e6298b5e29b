/** The API's base URLs by region (the `servers` of the spec). */
export const REGION_BASE_URLS = {
  us: "https://api.merge.dev/api",
  eu: "https://api-eu.merge.dev/api",
  apac: "https://api-ap.merge.dev/api",
  sandbox: "https://api-sandbox.merge.dev/api",
} as const;

/** A Merge region: where the linked accounts of your organization live. */
export type Region = keyof typeof REGION_BASE_URLS;

/** Whether a value names a region (`"us"`, `"eu"`, `"apac"` or `"sandbox"`): narrows it to `Region`. */
export function isRegion(value: unknown): value is Region {
  return typeof value === "string" && Object.hasOwn(REGION_BASE_URLS, value);
}
