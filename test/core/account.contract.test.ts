/**
 * Account validation against Prism serving the bundled spec: the spec's meta/post example is a CRM that
 * requires a subject, a start time and linked_account_params.activity_owner_email, and takes outbound
 * activities only, so a user of the mock sees account validation work.
 */
import { MergeValidationError } from "../../src/index.js";
import { prismClient } from "../support/prism.js";
import { eachTransport } from "../support/transports.js";

eachTransport(() => {
  test("strict: the mock's linked account refuses what its CRM lacks, by pointer, before sending", async () => {
    const refused = prismClient({ accountValidation: "strict" }).engagements.create({ subject: "Call", direction: "INBOUND" });
    await expect(refused).rejects.toBeInstanceOf(MergeValidationError);
    const { problems } = (await refused.catch((error: unknown) => error)) as MergeValidationError;
    expect(problems.map((p) => p.pointer).sort()).toEqual(["/model/direction", "/model/linked_account_params", "/model/start_time"]);
  });

  test("strict: a body with what the CRM requires is created", async () => {
    const merge = prismClient({ accountValidation: "strict" });
    const { model } = await merge.engagements.create({
      subject: "Call",
      direction: "OUTBOUND",
      start_time: new Date("2026-11-26T08:00:00Z"),
      linked_account_params: { activity_owner_email: "owner@example.com" },
    });
    expect(model.id).toBeDefined();
  });

  test("describeCreate and describeUpdate read the mock's examples", async () => {
    const merge = prismClient();
    const create = await merge.engagements.describeCreate();
    expect(create.fields.filter((f) => f.required).map((f) => f.pointer)).toEqual([
      "/model",
      "/model/subject",
      "/model/start_time",
      "/model/linked_account_params",
      "/model/linked_account_params/activity_owner_email",
    ]);
    expect(create.fields.find((f) => f.pointer === "/model/direction")?.enum).toEqual(["OUTBOUND"]);
    const update = await merge.engagements.describeUpdate("550e8400-e29b-41d4-a716-446655440000");
    expect(update.fields.filter((f) => f.required).map((f) => f.pointer)).toEqual(["/model"]);
  });
});
