// Preloaded (node --import) by test/mirror/peers.test.ts: `pg` and `@electric-sql/pglite` resolve as if
// not installed, for ES module imports (the mirror loads them with import()).
import { register } from "node:module";

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === "pg" || specifier === "@electric-sql/pglite") {
    const error = new Error("Cannot find package '" + specifier + "'");
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
