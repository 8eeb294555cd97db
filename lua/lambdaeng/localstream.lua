-- A runtime's streamed response, as the Runtime API takes it: a POST /response with
-- Lambda-Runtime-Function-Response-Mode: streaming and a chunked body, whose trailers
-- (Lambda-Runtime-Function-Error-Type, -Error-Body in base64) report an error that came
-- after the stream began. Passed on chunk by chunk as it arrives to the invocation's
-- stream when it has one (a function URL whose InvokeMode is RESPONSE_STREAM: the
-- client reads the first bytes while the function runs, up to 200 MiB), else gathered
-- into a buffered result (Invoke: at most the 6 MB of a synchronous payload). A URL
-- client slower than the runtime holds the runtime's connection (the server's own
-- backpressure, httpserver_stream.h): what waits for a client stays near 256 KiB.
--
--   attach(inv, stream) -> the invocation's response goes to stream (a url_stream) if streamed
--   sink(env, req) -> the Runtime API server's body sink of a streamed /response of
--       env's invocation in progress (httpserver_stream.h), or nil: read as any body
--   result(inv, req) -> the invocation's result once that request is complete
--   url_stream(id, head_of) -> a stream for a function URL's request id: its first
--       bytes make the response's head (head_of(headers) adds the URL's own: CORS, the
--       request id); a body of the http-integration-response type begins with a JSON
--       prelude (statusCode, headers, cookies) and 8 NUL bytes, as Lambda reads it
--   head_of(doc, content_type) -> the status and headers of a handler's answer object
--       (statusCode, headers, cookies as Set-Cookie; content_type when it names none):
--       a prelude's, and a buffered URL answer's (localurls.lua)
--   finish_url(stream, result) -> true when the stream answered the URL's request
--       (ended, or cut short on an error after it began); false: answer it as buffered
local server_lib = require "lambdaeng.native.httpserver"
local nhash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"
local localguard = require "lambdaeng.localguard"
local localrequest = require "lambdaeng.localrequest"

local M = {}

M.MAX_STREAMED = 200 * 1024 * 1024 -- bytes a streamed response may pass on ("up to 200 MB", Lambda's
                                     -- response-streaming guide; 6 MB, its buffered limit, is 6 MiB here)
local MAX_BUFFERED = localguard.MAX_SYNC_PAYLOAD
local PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"
local PRELUDE_END = string.rep("\0", 8)
local MAX_PRELUDE = 64 * 1024 -- a prelude longer than this is not one: the bytes are body

-- By invocation (weak keys: gone with it), so an invocation without a stream has no field for one.
local streams = setmetatable({}, { __mode = "k" })
local received = setmetatable({}, { __mode = "k" })

function M.attach(inv, stream) streams[inv] = stream end

local function error_payload(kind, message) return json.encode_plain { errorType = kind, errorMessage = message } end

function M.sink(env, req)
  local mode = req.headers["lambda-runtime-function-response-mode"]
  if not mode or mode:lower() ~= "streaming" or req.method ~= "POST" then return nil end
  local rid, what = localrequest.runtime_result(req.path)
  local inv = env.inv
  if what ~= "response" or not inv or inv.id ~= rid or inv.done then return nil end
  local st = { size = 0, parts = {}, too_large = false }
  received[inv] = st
  local out = streams[inv]
  if out then out:begin(req.headers["content-type"]) end
  return function(piece)
    if inv.done or st.too_large then return end -- (timed out: what follows is dropped)
    st.size = st.size + #piece
    if st.size > (out and M.MAX_STREAMED or MAX_BUFFERED) then
      st.too_large = true
    elseif out then
      out:write(piece)
    else
      st.parts[#st.parts + 1] = piece
    end
  end
end

function M.result(inv, req)
  local st = received[inv] or { size = 0, parts = {} }
  local trailers = req.trailers or {}
  local kind = trailers["lambda-runtime-function-error-type"]
  if kind then
    local body = trailers["lambda-runtime-function-error-body"]
    body = body and nhash.base64decode(body)
    return { function_error = "Unhandled", payload = body and body ~= "" and body
      or error_payload(kind, "the function's streamed response ended with an error") }
  end
  if st.too_large then
    local limit = streams[inv] and M.MAX_STREAMED or MAX_BUFFERED
    return { function_error = "Unhandled", payload = error_payload("Function.ResponseSizeTooLarge",
      string.format("Response payload size exceeded maximum allowed payload size (%d bytes).", limit)) }
  end
  return { payload = table.concat(st.parts), duration = 0, max_memory = 0 }
end

function M.head_of(doc, content_type)
  local headers = {}
  for k, v in pairs(type(doc.headers) == "table" and doc.headers or {}) do headers[k] = tostring(v) end
  if type(doc.cookies) == "table" and #doc.cookies > 0 then
    headers["Set-Cookie"] = table.concat(doc.cookies, ", ") -- one header; cookies never hold ", " unquoted
  end
  if not headers["Content-Type"] and not headers["content-type"] then headers["Content-Type"] = content_type end
  return math.tointeger(tonumber(doc.statusCode)) or 200, headers
end

-- The status and headers of an http-integration-response prelude, or nil when it is
-- not a JSON object.
local function prelude_head(text)
  local okd, doc = pcall(json.decode_keeping_arrays, text)
  if not okd or type(doc) ~= "table" then return nil end
  return M.head_of(doc, "application/octet-stream")
end

local Stream = {}
Stream.__index = Stream

function M.url_stream(id, head_of)
  return setmetatable({ id = id, head_of = head_of, started = false, prelude = false }, Stream)
end

function Stream:start(status, headers)
  self.started = true
  server_lib.respond_start(self.id, status, self.head_of(headers))
end

-- The runtime's headers arrived: the client's head goes at once, or after the prelude.
function Stream:begin(content_type)
  if content_type == PRELUDE_TYPE then
    self.prelude = {}
    return
  end
  self:start(200, { ["Content-Type"] = content_type or "application/octet-stream" })
end

function Stream:write(piece)
  if not self.prelude then
    server_lib.respond_chunk(self.id, piece)
    return
  end
  local p = self.prelude
  p[#p + 1] = piece
  local text = table.concat(p)
  local at = text:find(PRELUDE_END, 1, true)
  local status, headers
  if at then status, headers = prelude_head(text:sub(1, at - 1)) end
  if not at and #text <= MAX_PRELUDE then self.prelude = { text } return end
  self.prelude = false
  if status then
    self:start(status, headers)
    text = text:sub(at + #PRELUDE_END)
  else
    self:start(200, { ["Content-Type"] = PRELUDE_TYPE })
  end
  if text ~= "" then server_lib.respond_chunk(self.id, text) end
end

function M.finish_url(stream, result)
  if not stream or (not stream.started and not stream.prelude) then return false end
  if not stream.started then -- a prelude that never ended
    if result.function_error then return false end
    local text = table.concat(stream.prelude)
    stream.prelude = false
    stream:start(200, { ["Content-Type"] = PRELUDE_TYPE })
    if text ~= "" then server_lib.respond_chunk(stream.id, text) end
  end
  server_lib.respond_end(stream.id, not result.function_error)
  return true
end

return M
