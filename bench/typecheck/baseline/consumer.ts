// Type-check baseline: the same kind of program with no client (tsc's own floor: lib.*.d.ts, @types/node).
const response = await fetch("https://api.merge.dev/api/crm/v1/engagements", { method: "POST", body: "{}" });
const body = (await response.json()) as { model: { id?: string } };
console.log(body.model.id);
