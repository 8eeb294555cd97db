-- Invoke (the data-plane call of the Lambda API) and what its answer says: the
-- function's error (errorType, errorMessage) and its log tail. Methods of
-- lambda_api's Api (installed there: `methods`), and functions of an answer:
--   api:invoke(name, opts)        -> { status_code, payload, function_error, log_result, executed_version } | nil, err
--   api:invoke_values(name, opts) -> status_code, payload, function_error, log_result, executed_version | nil, err
--                                    (the same, without the table: `api Invoke`'s batch prints them at once)
--   function_error(result)        -> kind, message | nil      with_error_message(head, message) -> text
--   log_tail(result)              -> decoded log tail | nil   INVOKE_MAX_RESPONSE: bytes an answer may have
local client_lib = require "lambdaeng.aws.client"
local lambda_call = require "lambdaeng.aws.lambda_call"
local json = require "lambdaeng.json"
local header_values = require("lambdaeng.native.http").header_values
local printable = client_lib.printable

local M = {}
local Methods = {}
M.methods = Methods

-- A synchronous invocation answers at most 6 MB (Lambda's limit), with room for headers' worth of slack.
M.INVOKE_MAX_RESPONSE = 6 * 1024 * 1024 + 1024

-- Invoke's request (lambda_call.request's) for a function name and qualifier, made once:
-- a run invokes a few functions many times. Shared: its tables are only read.
local invoke_requests, invoke_requests_count = {}, 0
local function invoke_request(name, qualifier)
  local cached = type(name) == "string" and invoke_requests[qualifier or ""]
  local req = cached and cached[name]
  if req then return req end
  local rerr
  req, rerr = lambda_call.request("Invoke", { FunctionName = name, Qualifier = qualifier })
  if not req or type(name) ~= "string" then return req, rerr end
  if invoke_requests_count >= 1000 then invoke_requests, invoke_requests_count = {}, 0 end -- kept small
  invoke_requests[qualifier or ""] = invoke_requests[qualifier or ""] or {}
  invoke_requests[qualifier or ""][name] = req
  invoke_requests_count = invoke_requests_count + 1
  return req
end

local NO_HEADERS = {}

-- Invoke. opts: payload (string), invocation_type, log_type, client_context (base64), qualifier,
-- timeout (seconds an attempt waits; else client:invoke_timeout's 960 s). Sent once: a failure after
-- the request went out is not retried (aws/failures.lua's NOT_IDEMPOTENT). Returns status_code, payload,
-- function_error, log_result, executed_version (invoke: in a table).
function Methods:invoke_values(name, opts)
  opts = opts or {}
  local headers = NO_HEADERS
  if opts.invocation_type or opts.log_type or opts.client_context then
    headers = {}
    if opts.invocation_type then headers[#headers + 1] = { "X-Amz-Invocation-Type", opts.invocation_type } end
    if opts.log_type then headers[#headers + 1] = { "X-Amz-Log-Type", opts.log_type } end
    if opts.client_context then headers[#headers + 1] = { "X-Amz-Client-Context", opts.client_context } end
  end
  local req, rerr = invoke_request(name, opts.qualifier ~= "" and opts.qualifier or nil)
  if not req then return nil, rerr end
  local res, err = self.client:call {
    op = "Invoke", method = req.method, path = req.path, query = req.query,
    headers = headers, body = opts.payload or "{}", class = "invoke", log_body = false,
    timeout = opts.timeout or self.client:invoke_timeout(opts.invocation_type), max_body = M.INVOKE_MAX_RESPONSE, deadline = self.deadline,
  }
  if not res then return nil, err end
  -- the three in one call: one metamethod call each otherwise
  local function_error, executed_version, log_result =
    header_values(res.headers, "x-amz-function-error", "x-amz-executed-version", "x-amz-log-result")
  return res.status, res.body, function_error and printable(function_error, 128) or nil, log_result,
    executed_version and printable(executed_version, 128) or nil
end

function Methods:invoke(name, opts)
  local status_code, payload, function_error, log_result, executed_version = self:invoke_values(name, opts)
  if not status_code then return nil, payload end
  return { status_code = status_code, payload = payload, function_error = function_error, log_result = log_result,
           executed_version = executed_version }
end

-- What an Invoke answer says of a function error (result.function_error set): the
-- errorType (a non-empty string, else the header's kind) and errorMessage the runtime
-- wrote in its payload, or the raw payload when it is not an object with an
-- errorMessage; the message is nil when it is empty, blank or null (Python's `raise
-- Exception()`). Nil when the function did not fail. Text from the endpoint: make it
-- printable before showing it.
function M.function_error(result)
  if not result.function_error then return nil end
  local ok, doc = pcall(json.decode_plain, result.payload or "")
  local object = ok and type(doc) == "table"
  local kind = object and type(doc.errorType) == "string" and doc.errorType ~= "" and doc.errorType
  local message = nil
  if object then message = doc.errorMessage end
  if message == nil then message = result.payload or ""
  elseif type(message) == "table" then message = json.encode_plain(message)
  elseif type(message) ~= "string" and type(message) ~= "number" and type(message) ~= "boolean" then message = ""
  end
  message = tostring(message)
  return kind or tostring(result.function_error), not message:find("^%s*$") and message or nil
end

-- head (the error's type, and whatever the caller says with it) and the message of
-- function_error: "head: message", or "head (the error message is empty)".
function M.with_error_message(head, message)
  return message and (head .. ": " .. message) or (head .. " (the error message is empty)")
end

-- The log tail of an Invoke made with LogType Tail, decoded (nil without one).
function M.log_tail(result)
  return result.log_result and require("lambdaeng.native.hash").base64decode(result.log_result) or nil
end

return M
