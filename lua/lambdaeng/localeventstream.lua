-- InvokeWithResponseStream's answer on the local target, as Lambda gives it: a 200 whose
-- Content-Type is the type of the function's response, then the body as an AWS event
-- stream (application/vnd.amazon.eventstream framing, engine/eventstream.c): a
-- PayloadChunk event (its payload the bytes, :content-type application/octet-stream) for
-- each piece of the response as the runtime streams it through its chunked /response
-- (localstream.lua's sink passes them on as they are read), then one InvokeComplete event
-- (a JSON object: ErrorCode and ErrorDetails when the function failed, LogResult with
-- LogType Tail). A function that answers buffered (or fails before its stream began) gets
-- the head then, its payload as one PayloadChunk. A client slower than the runtime holds
-- the runtime's connection, as for a function URL (httpserver_stream.h).
--   new(id, headers) -> a stream for the server's request id (localstream.attach's):
--       begin(content_type) sends the head (headers and the Content-Type), write(piece)
--       a PayloadChunk, complete(result, log_tail) the rest and the end
--   payload_chunk(bytes), invoke_complete(error_code, error_details, log_result)
--       -> one event's bytes
local server_lib = require "lambdaeng.native.httpserver"
local eventstream = require "lambdaeng.native.eventstream"
local json = require "lambdaeng.json"

local M = {}

local MAX_EVENT = 16 * 1024 * 1024 -- bytes of payload an event carries at most (what readers take)
local CHUNK_HEADERS = { ":event-type", "PayloadChunk", ":content-type", "application/octet-stream",
                        ":message-type", "event" }
local COMPLETE_HEADERS = { ":event-type", "InvokeComplete", ":content-type", "application/json",
                           ":message-type", "event" }

function M.payload_chunk(bytes) return eventstream.message(CHUNK_HEADERS, bytes) end

function M.invoke_complete(error_code, error_details, log_result)
  return eventstream.message(COMPLETE_HEADERS, json.encode_plain { ErrorCode = error_code,
    ErrorDetails = error_details, LogResult = log_result })
end

-- The ErrorCode and ErrorDetails of a function error's payload (its errorType and
-- errorMessage; the payload itself when it is not such an object).
local function error_fields(payload)
  local ok, doc = pcall(json.decode_plain, payload or "")
  if ok and type(doc) == "table" and type(doc.errorType) == "string" then
    return doc.errorType, type(doc.errorMessage) == "string" and doc.errorMessage or payload
  end
  return "Unhandled", payload
end

local Stream = {}
Stream.__index = Stream

function M.new(id, headers)
  return setmetatable({ id = id, headers = headers, started = false }, Stream)
end

function Stream:begin(content_type)
  if self.started then return end
  self.started = true
  self.headers["Content-Type"] = content_type or "application/octet-stream"
  server_lib.respond_start(self.id, 200, self.headers)
end

function Stream:write(piece)
  for at = 1, #piece, MAX_EVENT do
    server_lib.respond_chunk(self.id, M.payload_chunk(piece:sub(at, at + MAX_EVENT - 1)))
  end
end

-- result: exec:run's ({ payload, function_error }); log_tail: LogResult, or nil.
function Stream:complete(result, log_tail)
  if not self.started then -- a buffered answer, or a failure before any stream
    self:begin("application/json")
    if not result.function_error and result.payload ~= "" then self:write(result.payload) end
  end
  local code, details
  if result.function_error then code, details = error_fields(result.payload) end
  server_lib.respond_chunk(self.id, M.invoke_complete(code, details, log_tail))
  server_lib.respond_end(self.id, true)
end

return M
