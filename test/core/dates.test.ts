import { readFileSync } from "node:fs";
import { createMergeCrmClient, MergeValidationError } from "../../src/index.js";
import { BODY_DATE_KEYS } from "../../src/core/dates.js";
import { CREATED, json, recordingFetch } from "./helpers.js";

function client() {
  const recording = recordingFetch(() => json(201, CREATED));
  const merge = createMergeCrmClient({ apiKey: "sk_dates", accountToken: "acct_dates", fetch: recording.fetch, accountValidation: "off" });
  return { merge, requests: recording.requests };
}

test("create and update send Date fields as ISO 8601 UTC strings, and leave strings and null as given", async () => {
  const { merge, requests } = client();
  await merge.engagements.create({ subject: "call", start_time: new Date(Date.UTC(2026, 10, 26, 8, 30)), end_time: "2026-11-26T09:00:00+01:00" });
  await merge.engagements.update("550e8400-e29b-41d4-a716-446655440000", { end_time: new Date(Date.UTC(2026, 10, 26, 9)), start_time: null });
  expect(JSON.parse(requests[0]?.body ?? "")).toEqual({
    model: { subject: "call", start_time: "2026-11-26T08:30:00.000Z", end_time: "2026-11-26T09:00:00+01:00" },
  });
  expect(JSON.parse(requests[1]?.body ?? "")).toEqual({ model: { end_time: "2026-11-26T09:00:00.000Z", start_time: null } });
});

test("an invalid Date is refused before sending, named by its pointer", async () => {
  const { merge, requests } = client();
  const refused = merge.engagements.create({ subject: "call", end_time: new Date("not a date") });
  await expect(refused).rejects.toBeInstanceOf(MergeValidationError);
  await expect(refused).rejects.toMatchObject({ problems: [{ pointer: "/model/end_time", message: "is an invalid Date" }] });
  expect(requests).toHaveLength(0);
});

test("the body date keys are exactly the date-time fields of EngagementRequest in the spec", () => {
  const spec = JSON.parse(readFileSync(new URL("../../generated/openapi.json", import.meta.url), "utf8")) as {
    components: { schemas: { EngagementRequest: { properties: Record<string, { format?: string }> } } };
  };
  const dateTimes = Object.entries(spec.components.schemas.EngagementRequest.properties)
    .filter(([, schema]) => schema.format === "date-time")
    .map(([name]) => name);
  expect([...BODY_DATE_KEYS].sort()).toEqual(dateTimes.sort());
});
