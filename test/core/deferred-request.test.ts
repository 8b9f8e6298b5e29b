import { DeferredRequest, transportFetch } from "../../src/core/deferred-request.js";

const init: RequestInit = {
  method: "post",
  headers: new Headers({ "content-type": "application/json", "x-account-token": "t" }),
  body: '{"model":{}}',
  redirect: "follow",
};

test("reads like the Request it stands for", async () => {
  const deferred = new DeferredRequest("https://api.merge.dev/api/crm/v1/engagements?run_async=true", init);
  const real = new Request("https://api.merge.dev/api/crm/v1/engagements?run_async=true", init);
  expect(deferred.url).toBe(real.url);
  expect(deferred.method).toBe(real.method);
  expect(Object.fromEntries(deferred.headers)).toEqual(Object.fromEntries(real.headers));
  expect(deferred.redirect).toBe(real.redirect);
  expect(deferred.bodyUsed).toBe(false);
  expect(await deferred.clone().text()).toBe('{"model":{}}');
  expect(await deferred.text()).toBe('{"model":{}}');
  expect(deferred.bodyUsed).toBe(true);
});

test("a caller's own fetch receives a real Request unless it opts in", async () => {
  const seen: unknown[] = [];
  const send = transportFetch(async (input) => {
    seen.push(input);
    return new Response("ok");
  });
  await send(new DeferredRequest("https://example.com/x", init));
  await send(new Request("https://example.com/y"));
  expect(seen).toHaveLength(2);
  for (const input of seen) {
    expect(input).toBeInstanceOf(Request);
    expect(input).not.toBeInstanceOf(DeferredRequest);
  }
  expect((seen[0] as Request).method).toBe("POST");
  expect(await (seen[0] as Request).text()).toBe('{"model":{}}');
});

test("a fetch marked with the deferred-request symbol receives the DeferredRequest itself, unbuilt", async () => {
  const seen: Request[] = [];
  const marked = Object.assign(
    async (input: Request) => {
      seen.push(input);
      return new Response("ok");
    },
    { [Symbol.for("merge-crm-engagements.deferred-request")]: true },
  );
  const send = transportFetch(marked);
  expect(send).toBe(marked);
  const deferred = new DeferredRequest("https://example.com/x", init);
  const real = new Request("https://example.com/y");
  await send(deferred);
  await send(real);
  expect(seen[0]).toBe(deferred);
  expect(seen[1]).toBe(real);
  expect(deferred.init.body).toBe('{"model":{}}');
});

test("the real Request is built once, only when asked for", () => {
  const deferred = new DeferredRequest("https://example.com/x", init);
  expect(deferred.toRequest()).toBe(deferred.toRequest());
});
