// Preloaded by queue-cli.test.ts (NODE_OPTIONS=--require): bullmq and ioredis resolve as if not installed.
const Module = require("node:module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "bullmq" || request === "ioredis") {
    const error = new Error(`Cannot find module '${request}'`);
    error.code = "MODULE_NOT_FOUND";
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
