// Response streaming for lambdaeng's Node bootstrap, as AWS's Node runtime offers it:
// the global `awslambda` with streamifyResponse(handler) (the handler is then called as
// handler(event, responseStream, context)) and HttpResponseStream.from(stream, prelude)
// (a function URL's status, headers and cookies, written first as Lambda reads them: the
// http-integration-response content type, the JSON prelude and 8 NUL bytes).
// responseStream is a Writable whose bytes go to the Runtime API as they are written: a
// POST /response with Lambda-Runtime-Function-Response-Mode: streaming and a chunked
// body, opened at the first write (or the end), so setContentType works until then. An
// error after it opened is sent in its trailers (Lambda-Runtime-Function-Error-Type and
// -Error-Body, base64); before, the caller posts /error as for any handler.
"use strict";
const http = require("http");
const { Writable } = require("stream");

const HANDLER_STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const STREAM_RESPONSE = "response";
const PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response";

function install() {
  globalThis.awslambda = {
    streamifyResponse(handler) {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      return handler;
    },
    HttpResponseStream: {
      from(stream, prelude) {
        stream.setContentType(PRELUDE_TYPE);
        stream.write(Buffer.concat([Buffer.from(JSON.stringify(prelude || {})), Buffer.alloc(8)]));
        return stream;
      },
    },
  };
}

function isStreaming(handler) {
  return handler[HANDLER_STREAMING] === STREAM_RESPONSE;
}

// The response stream of invocation id: { stream, opened(), fail(errorBody), done }; done
// resolves once the Runtime API has answered the POST (rejects if it could not be sent).
function responseStream(options, id) {
  let req = null;
  let contentType = "application/octet-stream";
  let settle;
  const done = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  function open() {
    if (req) return req;
    req = http.request({
      ...options, method: "POST", path: `${options.prefix}/invocation/${id}/response`,
      headers: {
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Transfer-Encoding": "chunked",
        "Content-Type": contentType,
        Trailer: "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
      },
    }, (res) => {
      res.resume();
      res.on("end", () => settle.resolve(res.statusCode));
    });
    req.on("error", (e) => settle.reject(e));
    req.flushHeaders();
    return req;
  }
  const stream = new Writable({
    write(chunk, _encoding, callback) { open().write(chunk, callback); },
    final(callback) { open().end(callback); },
  });
  stream.setContentType = (type) => { contentType = type; };
  return {
    stream,
    done,
    opened: () => req !== null,
    fail(body) {
      if (req && req.writableEnded) return; // the handler ended the stream: its answer stands
      stream.destroy(); // what it had not passed on is dropped
      const r = open();
      r.addTrailers({
        "Lambda-Runtime-Function-Error-Type": body.errorType,
        "Lambda-Runtime-Function-Error-Body": Buffer.from(JSON.stringify(body)).toString("base64"),
      });
      r.end();
    },
  };
}

module.exports = { install, isStreaming, responseStream };
