-- InvokeWithResponseStream for lambdaeng's own client (`lambdaeng api
-- InvokeWithResponseStream`): the request as lambda_call writes every operation's, the
-- answer's application/vnd.amazon.eventstream body read message by message (each CRC
-- checked, engine/eventstream.c) into the response botocore gives: StatusCode,
-- ExecutedVersion, ResponseStreamContentType and EventStream, the list of its events in
-- order, { PayloadChunk = { Payload = base64 } } or { InvokeComplete = { ErrorCode,
-- ErrorDetails, LogResult } } (blobs in base64, as the aws CLI prints them). An
-- exception message in the stream fails the call with its :exception-type and message.
-- The answer is read whole before it is printed (the HTTP client buffers bodies), up to
-- 256 MiB of event stream (Lambda streams 200 MiB of payload at most).
local lambda_call = require "lambdaeng.aws.lambda_call"
local json = require "lambdaeng.json"
local hash = require "lambdaeng.native.hash"
local eventstream = require "lambdaeng.native.eventstream"

local M = {}

local OP = "InvokeWithResponseStream"
-- Lambda's 200 MiB of payload and the framing of its chunks (~90 bytes a chunk: 56 MiB is
-- 650,000 chunks, 320 bytes each on average); past it the call fails "too_large".
local MAX_STREAM = 256 * 1024 * 1024

local function failure(message) return nil, { type = "InvalidResponse", message = OP .. ": " .. message } end

-- The message an exception's payload carries (a JSON object's message, else the text).
local function exception_message(payload)
  local ok, doc = pcall(json.decode_plain, payload)
  if ok and type(doc) == "table" then return doc.message or doc.Message or doc.errorMessage or payload end
  return payload
end

-- One event of the stream as botocore parses it, or nil, the error it carries.
local function event(m)
  local h = m.headers
  local kind = h[":message-type"]
  if kind == "exception" or kind == "error" then
    return nil, { type = h[":exception-type"] or h[":error-code"] or "EventStreamError",
                  message = h[":error-message"] or exception_message(m.payload) }
  end
  local name = h[":event-type"]
  if name == "PayloadChunk" then return { PayloadChunk = { Payload = hash.base64(m.payload) } } end
  if name == "InvokeComplete" then
    local ok, doc = pcall(json.decode_plain, m.payload ~= "" and m.payload or "{}")
    if not (ok and type(doc) == "table") then return failure("an InvokeComplete event that is not a JSON object") end
    return { InvokeComplete = doc }
  end
  return { [tostring(name)] = {} } -- an event this client does not know: named, as botocore keeps it
end

-- input: the API reference's members (FunctionName, Qualifier, InvocationType, LogType,
-- ClientContext, Payload: a string's bytes, else its JSON). Returns the response, or nil, err.
function M.invoke(api, input)
  local req, err = lambda_call.request(OP, input)
  if not req then return nil, err end
  -- no Payload: an empty JSON body (a POST without one would go as an HTML form's)
  local res, cerr = api.client:call {
    op = OP, method = req.method, path = req.path, query = req.query, headers = req.headers, body = req.body or "",
    class = "invoke", log_body = false, deadline = api.deadline, max_body = MAX_STREAM,
  }
  if not res then return nil, cerr end
  local messages, why = eventstream.messages(res.body or "")
  if not messages then return failure("the event stream is not whole: " .. why) end
  local events = {}
  for i, m in ipairs(messages) do
    local e, eerr = event(m)
    if not e then return nil, eerr end
    events[i] = e
  end
  return { StatusCode = res.status, ExecutedVersion = res.headers["x-amz-executed-version"],
           ResponseStreamContentType = res.headers["content-type"], EventStream = json.array(events) }
end

return M
