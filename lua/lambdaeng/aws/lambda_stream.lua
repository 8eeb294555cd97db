-- InvokeWithResponseStream for lambdaeng's own client (`lambdaeng api
-- InvokeWithResponseStream`, the REPL's invoke_stream): the request as lambda_call writes
-- every operation's; the answer's application/vnd.amazon.eventstream body read as it
-- arrives (http.request's sink, engine/httpsink.h), each message whole and its CRCs
-- checked (engine/eventstream.c), each event handed on at once:
-- { PayloadChunk = { Payload = bytes } } or { InvokeComplete = { ErrorCode, ErrorDetails,
-- LogResult } } (the shapes botocore gives). invoke() lists them (blobs in base64, as the
-- aws CLI prints blobs) in the response botocore gives: StatusCode, ExecutedVersion,
-- ResponseStreamContentType, EventStream; stream() gives each to on_event as it arrives
-- and returns the rest of the response. An exception message in the stream fails the
-- call with its :exception-type and a message naming the operation; once an event was
-- handed on, a failed call is not sent again (its events would be handed on twice).
local lambda_call = require "lambdaeng.aws.lambda_call"
local json = require "lambdaeng.json"
local hash = require "lambdaeng.native.hash"
local eventstream = require "lambdaeng.native.eventstream"

local M = {}

local OP = "InvokeWithResponseStream"
-- The bytes of messages not yet whole the client may hold (Lambda's chunks are far
-- smaller; a message may carry 16 MiB at most, eventstream.c).
local MAX_PENDING = 17 * 1024 * 1024

local function invalid(message) return { type = "InvalidResponse", message = OP .. ": " .. message } end

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
    local etype = h[":exception-type"] or h[":error-code"] or "EventStreamError"
    return nil, { type = etype, message = OP .. ": the stream ended with " .. etype .. ": "
                  .. tostring(h[":error-message"] or exception_message(m.payload)) }
  end
  local name = h[":event-type"]
  if name == "PayloadChunk" then return { PayloadChunk = { Payload = m.payload } } end
  if name == "InvokeComplete" then
    local ok, doc = pcall(json.decode_plain, m.payload ~= "" and m.payload or "{}")
    if not (ok and type(doc) == "table") then return nil, invalid("an InvokeComplete event that is not a JSON object") end
    return { InvokeComplete = doc }
  end
  return { [tostring(name)] = {} } -- an event this client does not know: named, as botocore keeps it
end

-- The sink of one call: bytes in, whole messages' events out to on_event. Its failure (a
-- broken message, an exception event, on_event raising) is kept in reader.err and raised
-- as text, which stops the request (http.request's "stopped").
local function reader_for(on_event)
  local r = { pending = "", events = 0 }
  local function fail(err)
    r.err = r.err or err
    error(err.message, 0)
  end
  local function handle(m)
    local e, eerr = event(m)
    if not e then fail(eerr) end
    r.events = r.events + 1
    local ok, why = pcall(on_event, e)
    if not ok then fail({ type = "EventHandlerError", message = OP .. ": the event handler failed: " .. tostring(why) }) end
  end
  function r.sink(bytes)
    local buf = r.pending == "" and bytes or r.pending .. bytes
    local pos, n = 1, #buf
    while n - pos >= 3 do -- a message's total length, its first 4 bytes
      local total = string.unpack(">I4", buf, pos)
      if total < 16 then fail(invalid("a message of " .. total .. " bytes, too short to be one")) end
      if n - pos + 1 < total then break end
      pos = pos + total
    end
    if pos > 1 then
      local messages, why = eventstream.messages(pos > n and buf or buf:sub(1, pos - 1))
      if not messages then fail(invalid("the event stream is not whole: " .. why)) end
      for _, m in ipairs(messages) do handle(m) end
    end
    r.pending = pos > n and "" or buf:sub(pos)
    if #r.pending > MAX_PENDING then fail(invalid("a message over " .. MAX_PENDING .. " bytes")) end
  end
  return r
end

-- input: the API reference's members (FunctionName, Qualifier, InvocationType, LogType,
-- ClientContext, Payload: a string's bytes, else its JSON); on_event(event) is called
-- with each event as it arrives (on the loop: it must not wait). Returns { StatusCode,
-- ExecutedVersion, ResponseStreamContentType, events = how many }, or nil, err. timeout:
-- the seconds an attempt may take (nil: client:invoke_timeout's).
function M.stream(api, input, on_event, timeout)
  local req, err = lambda_call.request(OP, input)
  if not req then return nil, err end
  local r = reader_for(on_event)
  -- no Payload: an empty JSON body (a POST without one would go as an HTML form's)
  local res, cerr = api.client:call {
    op = OP, method = req.method, path = req.path, query = req.query, headers = req.headers, body = req.body or "",
    class = "invoke", log_body = false, deadline = api.deadline, max_body = MAX_PENDING, sink = r.sink,
    -- the longest a function runs and a minute more (client:invoke_timeout), not the client's 60 s
    -- per call, which would cut a stream still flowing; LAMBDAENG_HTTP_TIMEOUT overrides it
    timeout = timeout or api.client:invoke_timeout(input.InvocationType),
    resend = function() -- (an attempt failed) only before an event was handed on; afresh
      if r.events > 0 then return false end
      r.pending = ""
      return true
    end,
  }
  if r.err then return nil, r.err end
  if not res then return nil, cerr end
  if r.pending ~= "" then return nil, invalid("the event stream is not whole: a message cut short") end
  return { StatusCode = res.status, ExecutedVersion = res.headers["x-amz-executed-version"],
           ResponseStreamContentType = res.headers["content-type"], events = r.events }
end

-- The whole response as botocore gives it, the events listed in order (chunks in base64),
-- up to MAX_LISTED bytes of payload (Lambda streams 200 MiB at most).
local MAX_LISTED = 256 * 1024 * 1024
function M.invoke(api, input)
  local events, listed = {}, 0
  local res, err = M.stream(api, input, function(e)
    if e.PayloadChunk then
      listed = listed + #e.PayloadChunk.Payload
      if listed > MAX_LISTED then error("a payload over " .. MAX_LISTED .. " bytes (an OUTFILE takes any size)", 0) end
      e = { PayloadChunk = { Payload = hash.base64(e.PayloadChunk.Payload) } }
    end
    events[#events + 1] = e
  end)
  if not res then return nil, err end
  res.events = nil
  res.EventStream = json.array(events)
  return res
end

return M
