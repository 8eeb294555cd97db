// lambdaeng's bootstrap for nodejs* functions on the local target.
//
// It speaks the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API like AWS's own
// runtime: load the handler named by $_HANDLER ("path/file.export") from
// $LAMBDA_TASK_ROOT (CommonJS .js/.cjs, or an ES module .mjs / "type": "module"),
// then loop on /invocation/next, call the handler (async, or with a callback), and
// post the result to /response or the error to /error. Load failures go to
// /init/error. A handler wrapped in awslambda.streamifyResponse streams its response
// (streaming.js). Node's standard library only.
"use strict";
const http = require("http");
const path = require("path");
const fs = require("fs");
const url = require("url");
const streaming = require("./streaming.js");

streaming.install(); // awslambda.*, before the handler's module runs

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const PREFIX = "/2018-06-01/runtime";

// A body goes with its Content-Length: written chunked, the Runtime API would take each
// buffered answer for a possible stream (its stream hook runs for every chunked request).
function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) h["Content-Length"] = Buffer.byteLength(body);
    const req = http.request({ host, port, method, path: PREFIX + p, agent, headers: h }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err, type) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: type || e.name || "Error",
    errorMessage: e.message,
    trace: String(e.stack || "").split("\n"),
  };
}

async function initError(err, type) {
  const body = errorBody(err, type);
  console.error(`ERROR\t${body.errorType}: ${body.errorMessage}`);
  await request("POST", "/init/error", JSON.stringify(body), {
    "Lambda-Runtime-Function-Error-Type": body.errorType,
    "Content-Type": "application/json",
  });
  process.exit(1);
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) return initError(new Error(`Bad handler ${spec}: expected file.export`), "Runtime.MalformedHandlerName");
  const root = process.env.LAMBDA_TASK_ROOT;
  const base = path.resolve(root, spec.slice(0, dot));
  const name = spec.slice(dot + 1);
  let file = null;
  for (const ext of [".js", ".mjs", ".cjs"]) if (fs.existsSync(base + ext)) { file = base + ext; break; }
  if (!file) return initError(new Error(`Cannot find module '${spec.slice(0, dot)}'`), "Runtime.ImportModuleError");
  let mod;
  try {
    mod = await import(url.pathToFileURL(file).href);
  } catch (e) {
    return initError(e, e instanceof SyntaxError ? "Runtime.UserCodeSyntaxError" : "Runtime.ImportModuleError");
  }
  const handler = mod[name] !== undefined ? mod[name] : mod.default && mod.default[name];
  if (typeof handler !== "function") {
    return initError(new Error(`${spec} is undefined or not exported`), "Runtime.HandlerNotFound");
  }
  return handler;
}

function invokeHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let done = false;
    const callback = (err, result) => {
      if (done) return;
      done = true;
      if (err) reject(err); else resolve(result);
    };
    try {
      const r = handler(event, context, callback);
      if (r && typeof r.then === "function") r.then((v) => callback(null, v), (e) => callback(e));
      else if (handler.length < 3) callback(null, r);
    } catch (e) {
      callback(e);
    }
  });
}

function logError(id, body) {
  console.error(`${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(body)}`);
}

async function postError(id, body) {
  logError(id, body);
  await request("POST", `/invocation/${id}/error`, JSON.stringify(body), {
    "Lambda-Runtime-Function-Error-Type": "Unhandled",
    "Content-Type": "application/json",
  });
}

// A streamifyResponse handler: its stream goes to /response as it is written; an error
// before anything was written is posted to /error, after, in the stream's trailers.
async function invokeStreaming(handler, id, event, context) {
  const s = streaming.responseStream({ host, port, agent, prefix: PREFIX }, id);
  try {
    await handler(event, s.stream, context);
    if (!s.stream.writableEnded) s.stream.end();
  } catch (e) {
    const body = errorBody(e);
    if (!s.opened()) return postError(id, body);
    logError(id, body);
    s.fail(body);
  }
  await s.done.catch(() => {});
}

async function main() {
  const handler = await loadHandler();
  for (;;) {
    let next;
    try {
      next = await request("GET", "/invocation/next");
    } catch (e) {
      return; // the target is gone
    }
    const h = next.headers;
    const id = h["lambda-runtime-aws-request-id"];
    const deadline = Number(h["lambda-runtime-deadline-ms"] || 0);
    const context = {
      awsRequestId: id,
      invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: h["lambda-runtime-client-context"] ? JSON.parse(h["lambda-runtime-client-context"]) : undefined,
      identity: h["lambda-runtime-cognito-identity"] ? JSON.parse(h["lambda-runtime-cognito-identity"]) : undefined,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      callbackWaitsForEmptyEventLoop: true,
    };
    process.env._X_AMZN_TRACE_ID = h["lambda-runtime-trace-id"] || "";
    let event;
    try { event = next.body ? JSON.parse(next.body) : null; } catch (e) { event = next.body; }
    if (streaming.isStreaming(handler)) {
      await invokeStreaming(handler, id, event, context);
      continue;
    }
    try {
      const result = await invokeHandler(handler, event, context);
      await request("POST", `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result),
        { "Content-Type": "application/json" });
    } catch (e) {
      await postError(id, errorBody(e));
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
