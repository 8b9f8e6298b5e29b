/**
 * Account validation's module is loaded with import() on first use (src/core/resources/engagements.ts). When it cannot
 * be loaded (a chunk that fails to download), a create is checked against the spec only and sent, as
 * when a meta request fails, and describeCreate rejects with a typed MergeConnectionError. The module is
 * replaced here by one whose loading throws (a unit test: jest's ESM module mock of our own module).
 */
import { jest } from "@jest/globals";
import { CREATED, json, recordingFetch } from "./helpers.js";

let loads = 0;
jest.unstable_mockModule("../../src/core/validation/account-validation.js", () => {
  loads++;
  throw new TypeError("Failed to fetch dynamically imported module: account-validation-X1.js");
});
const { createMergeCrmClient, MergeConnectionError } = await import("../../src/index.js");

test("a module that cannot be loaded: creates go out checked against the spec only, describeCreate rejects typed", async () => {
  const warnings: string[] = [];
  const recording = recordingFetch(() => json(201, CREATED));
  const merge = createMergeCrmClient({
    apiKey: "key_live_123456",
    accountToken: "acct_live_123456",
    accountValidation: "strict",
    fetch: recording.fetch,
    logger: { warn: (message) => warnings.push(message) },
  });

  await expect(merge.engagements.create({ subject: "Call" })).resolves.toEqual(CREATED);
  expect(recording.requests.map((r) => r.method)).toEqual(["POST"]);
  expect(warnings).toEqual([expect.stringMatching(/^account validation could not be loaded: TypeError: Failed to fetch dynamically imported module.*; checked against the spec only$/)]);

  const rejected = merge.engagements.describeCreate();
  await expect(rejected).rejects.toBeInstanceOf(MergeConnectionError);
  await expect(rejected).rejects.toMatchObject({ writeMayHaveHappened: false, message: expect.stringContaining("could not be loaded") });

  // A spec fault is still refused before anything is sent.
  await expect(merge.engagements.create({ direction: "SIDEWAYS" } as never)).rejects.toMatchObject({ name: "MergeValidationError" });
  expect(recording.requests).toHaveLength(1);
  expect(loads).toBeGreaterThanOrEqual(1);
});
