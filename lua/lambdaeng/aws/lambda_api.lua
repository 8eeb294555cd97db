-- The Lambda REST API (2015-03-31) operations lambdaeng uses, their method, path
-- and query from the one table of the API's operations (aws/lambda_operations.lua,
-- through aws/lambda_call.lua), and the waiters between them. Each operation runs inside a task
-- and returns the decoded response, or nil and an error { type, message, ... }.
local loop = require "lambdaeng.native.loop"
local json = require "lambdaeng.json"
local client_lib = require "lambdaeng.aws.client"
local shape = require "lambdaeng.aws.shape"
local lambda_call = require "lambdaeng.aws.lambda_call"
local printable = client_lib.printable

local M = {}

local Api = {}
Api.__index = Api

function M.new(client) return setmetatable({ client = client }, Api) end

-- The same API whose calls, retries and waits all end by `deadline` (loop time):
-- a resource's `timeouts` bound its whole operation. `what` names it in the error.
function Api:until_deadline(deadline, what)
  return setmetatable({ client = self.client, deadline = deadline, what = what, total = deadline - loop.now() },
    Api)
end

function Api:time_left()
  if not self.deadline then return nil end
  return self.deadline - loop.now()
end

function Api:timeout_error()
  return { type = "OperationTimeout", message = string.format("the %s did not finish within its timeout",
    self.what or "operation") }
end

-- The response's JSON (decoded by opts.decode, default json.decode_stack), checked
-- against the operation's shape (aws/shape.lua), then given to opts.checked if set.
-- opts.fast(text, shape): all three in one pass when it can (true, value), else false
-- (lambda_call's, engine/jsondecode.c); the steps above are its reference.
-- opts.text(text, shape): the value's canonical JSON text instead, when it can (the
-- text, wrapped), else false (lambda_call's, engine/jsoncanon.c; for printing).
local function decode(op, res, opts)
  if res.body == nil or res.body == "" then return shape.validate(op, {}) end
  if opts.text then
    local text = opts.text(res.body, shape.OUTPUT[op])
    if text then return text end
  end
  if opts.fast then
    local ok, v = opts.fast(res.body, shape.OUTPUT[op])
    if ok then return v end
  end
  local ok, v = pcall(opts.decode or json.decode_stack, res.body) -- (integers within 64 bits exact)
  if not ok then
    return nil, { type = "InvalidResponse", message = string.format("%s: the response is not JSON (%d bytes: %s)", op,
      #res.body, client_lib.printable(res.body:sub(1, 120))) }
  end
  local out, err = shape.validate(op, v)
  if out and opts.checked then out = opts.checked(out) end
  return out, err
end

-- query: the call's query, else opts.query (so that opts can be one table per operation).
function Api:json_call(op, method, path, body, opts, query)
  opts = opts or {}
  if self.deadline and loop.now() >= self.deadline then return nil, self:timeout_error() end
  local res, err = self.client:call {
    op = op, method = method, path = path, query = query or opts.query,
    body = body ~= nil and json.encode_plain(body) or nil, class = opts.class or "control",
    log_body = opts.log_body, deadline = self.deadline,
  }
  if not res then
    if self.deadline and loop.now() >= self.deadline - 0.001 then
      local t = self:timeout_error()
      t.message = t.message .. " (" .. op .. ": " .. tostring(err.type) .. ": " .. tostring(err.message) .. ")"
      return nil, t
    end
    return nil, err
  end
  local v, derr = decode(op, res, opts)
  if not v then return nil, derr end
  return v, nil, res
end

-- Operation op of the table: its method, and its path and query made of members
-- (URI and query members as the API names them: FunctionName, Qualifier, ...; an
-- empty Qualifier is none); body the JSON body (nil: none); opts as json_call's.
function Api:op(op, members, body, opts)
  if members.Qualifier == "" then members.Qualifier = nil end
  local req, err = lambda_call.request(op, members)
  if not req then return nil, err end
  opts = opts or {}
  opts.query = req.query
  return self:json_call(op, req.method, req.path, body, opts)
end

-- The request body is logged without environment variable values (they may be secrets).
local function loggable(input)
  return not (type(input) == "table" and input.Environment and input.Environment.Variables)
end

-- CreateFunction is not idempotent: when an attempt was throttled or lost its
-- response and a retry then hears "already exists", the function the lost
-- attempt created is adopted (when its code is ours) instead of reported.
function Api:create_function(input)
  local out, err, res = self:op("CreateFunction", {}, input,
    { log_body = loggable(input) and not (input.Code and input.Code.ZipFile) })
  if out or not err or err.type ~= "ResourceConflictException" or (err.attempts or 1) < 2 then
    return out, err, res
  end
  local existing, gerr = self:get_function(input.FunctionName)
  if not existing then return nil, err end
  local cfg = existing.Configuration or {}
  local zip = input.Code and input.Code.ZipFile
  if zip then
    local hash = require "lambdaeng.native.hash"
    local bytes = hash.base64decode(zip)
    if bytes and cfg.CodeSha256 and cfg.CodeSha256 ~= hash.base64(hash.sha256_raw(bytes)) then
      return nil, err -- someone else's function by that name: a real conflict
    end
  end
  self.client:log("   CreateFunction " .. tostring(input.FunctionName) ..
    ": an earlier attempt's outcome was unknown and the function exists; adopting it")
  cfg.Adopted = true
  return cfg, gerr
end

function Api:get_function(name, qualifier)
  return self:op("GetFunction", { FunctionName = name, Qualifier = qualifier }, nil, { class = "read" })
end

function Api:get_function_configuration(name, qualifier)
  -- On AWS only GetFunction (and GetPolicy) escape the 15 rps control-plane quota.
  return self:op("GetFunctionConfiguration", { FunctionName = name, Qualifier = qualifier }, nil, { class = "control" })
end

function Api:update_function_code(name, input)
  return self:op("UpdateFunctionCode", { FunctionName = name }, input, { log_body = not input.ZipFile })
end

function Api:update_function_configuration(name, input)
  return self:op("UpdateFunctionConfiguration", { FunctionName = name }, input, { log_body = loggable(input) })
end

function Api:delete_function(name, qualifier)
  return self:op("DeleteFunction", { FunctionName = name, Qualifier = qualifier })
end

function Api:publish_version(name, input)
  return self:op("PublishVersion", { FunctionName = name }, input or {})
end

function Api:list_versions_by_function(name)
  local versions, marker = {}, nil
  repeat
    local page, err = self:op("ListVersionsByFunction", { FunctionName = name, MaxItems = 50, Marker = marker }, nil,
      { class = "control" })
    if not page then return nil, err end
    for _, v in ipairs(page.Versions or {}) do versions[#versions + 1] = v end
    marker = page.NextMarker
  until marker == nil or marker == json.null
  return { Versions = versions }
end

function Api:put_function_code_signing_config(name, arn)
  return self:op("PutFunctionCodeSigningConfig", { FunctionName = name }, { CodeSigningConfigArn = arn })
end

function Api:delete_function_code_signing_config(name)
  return self:op("DeleteFunctionCodeSigningConfig", { FunctionName = name })
end

function Api:get_function_code_signing_config(name)
  return self:op("GetFunctionCodeSigningConfig", { FunctionName = name }, nil, { class = "control" })
end

function Api:put_function_concurrency(name, reserved)
  return self:op("PutFunctionConcurrency", { FunctionName = name }, { ReservedConcurrentExecutions = reserved })
end

function Api:delete_function_concurrency(name)
  return self:op("DeleteFunctionConcurrency", { FunctionName = name })
end

function Api:tag_resource(arn, tags)
  return self:op("TagResource", { Resource = arn }, { Tags = tags })
end

function Api:untag_resource(arn, keys)
  return self:op("UntagResource", { Resource = arn, TagKeys = keys })
end

function Api:list_tags(arn)
  return self:op("ListTags", { Resource = arn }, nil, { class = "control" })
end

-- Layers (2018-10-31) ----------------------------------------------------------

-- input: { Content = { ZipFile | S3Bucket, S3Key, S3ObjectVersion }, Description, LicenseInfo,
-- CompatibleRuntimes, CompatibleArchitectures }
function Api:publish_layer_version(name, input)
  return self:op("PublishLayerVersion", { LayerName = name }, input,
    { log_body = not (input.Content and input.Content.ZipFile) })
end

function Api:get_layer_version(name, version)
  return self:op("GetLayerVersion", { LayerName = name, VersionNumber = version }, nil, { class = "control" })
end

function Api:get_layer_version_by_arn(arn)
  return self:op("GetLayerVersionByArn", { Arn = arn }, nil, { class = "control" })
end

-- One page of a layer's versions, newest first ({ LayerVersions, NextMarker }).
function Api:list_layer_versions(name, marker)
  return self:op("ListLayerVersions", { LayerName = name, Marker = marker }, nil, { class = "control" })
end

function Api:delete_layer_version(name, version)
  return self:op("DeleteLayerVersion", { LayerName = name, VersionNumber = version })
end

-- Aliases -----------------------------------------------------------------------

-- input: { Name, FunctionVersion, Description, RoutingConfig = { AdditionalVersionWeights } }
function Api:create_alias(fn, input)
  return self:op("CreateAlias", { FunctionName = fn }, input)
end

function Api:get_alias(fn, name)
  return self:op("GetAlias", { FunctionName = fn, Name = name }, nil, { class = "control" })
end

function Api:update_alias(fn, name, input)
  return self:op("UpdateAlias", { FunctionName = fn, Name = name }, input)
end

function Api:delete_alias(fn, name)
  return self:op("DeleteAlias", { FunctionName = fn, Name = name })
end

-- Resource-based policy -----------------------------------------------------------

-- input: { StatementId, Action, Principal, SourceArn, SourceAccount, EventSourceToken,
-- PrincipalOrgID, FunctionUrlAuthType }
function Api:add_permission(fn, input, qualifier)
  return self:op("AddPermission", { FunctionName = fn, Qualifier = qualifier }, input)
end

function Api:get_policy(fn, qualifier)
  return self:op("GetPolicy", { FunctionName = fn, Qualifier = qualifier }, nil, { class = "read" })
end

function Api:remove_permission(fn, sid, qualifier)
  return self:op("RemovePermission", { FunctionName = fn, StatementId = sid, Qualifier = qualifier })
end

-- Function URLs (2021-10-31) --------------------------------------------------------

-- input: { AuthType, Cors = { AllowCredentials, AllowHeaders, ... }, InvokeMode }
function Api:create_function_url_config(fn, input, qualifier)
  return self:op("CreateFunctionUrlConfig", { FunctionName = fn, Qualifier = qualifier }, input)
end

function Api:get_function_url_config(fn, qualifier)
  return self:op("GetFunctionUrlConfig", { FunctionName = fn, Qualifier = qualifier }, nil, { class = "control" })
end

function Api:update_function_url_config(fn, input, qualifier)
  return self:op("UpdateFunctionUrlConfig", { FunctionName = fn, Qualifier = qualifier }, input)
end

function Api:delete_function_url_config(fn, qualifier)
  return self:op("DeleteFunctionUrlConfig", { FunctionName = fn, Qualifier = qualifier })
end

-- Asynchronous invocation configuration (2019-09-25) ------------------------------

-- input: { MaximumRetryAttempts, MaximumEventAgeInSeconds, DestinationConfig = { OnSuccess, OnFailure } }
function Api:put_function_event_invoke_config(fn, input, qualifier)
  return self:op("PutFunctionEventInvokeConfig", { FunctionName = fn, Qualifier = qualifier }, input)
end

function Api:get_function_event_invoke_config(fn, qualifier)
  return self:op("GetFunctionEventInvokeConfig", { FunctionName = fn, Qualifier = qualifier }, nil,
    { class = "control" })
end

function Api:delete_function_event_invoke_config(fn, qualifier)
  return self:op("DeleteFunctionEventInvokeConfig", { FunctionName = fn, Qualifier = qualifier })
end

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

-- Invoke. opts: payload (string), invocation_type, log_type, client_context (base64), qualifier.
-- Returns { status_code, payload, function_error, log_result, executed_version }.
function Api:invoke(name, opts)
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
    timeout = opts.timeout, max_body = M.INVOKE_MAX_RESPONSE, deadline = self.deadline,
  }
  if not res then return nil, err end
  local h = res.headers
  local function_error, executed_version = h["x-amz-function-error"], h["x-amz-executed-version"]
  return {
    status_code = res.status,
    payload = res.body,
    function_error = function_error and printable(function_error, 128) or nil,
    log_result = h["x-amz-log-result"],
    executed_version = executed_version and printable(executed_version, 128) or nil,
  }
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

-- Waiters --------------------------------------------------------------------

-- "1.5s", "45s", "10m", "2m30s", "1h5m": how long a waiter waited, for messages.
local function duration_text(seconds)
  if seconds < 60 then
    return (string.format("%.1f", seconds):gsub("%.0$", "")) .. "s"
  end
  local s = math.floor(seconds + 0.5)
  local h, m, r = s // 3600, s % 3600 // 60, s % 60
  local text = (h > 0 and (h .. "h") or "") .. (m > 0 and (m .. "m") or "") .. (r > 0 and (r .. "s") or "")
  return text
end
M.duration_text = duration_text

-- Polls GetFunction (its own 100 rps quota on AWS, not the control plane's 15)
-- until done(cfg) is true, failing on failed(cfg) or after timeout seconds.
-- what: the condition waited for ("State Active"); status(cfg): what it is now.
-- delay: seconds between the first polls, growing by half each time up to 5.
-- A wait inside an operation bounded by until_deadline ends with it, and names
-- the operation's whole timeout.
function Api:wait(name, what, done, failed, status, timeout, delay)
  local left = self:time_left()
  timeout = math.min(tonumber(timeout) or left or 600, left or math.huge)
  delay = math.max(tonumber(delay) or 0.25, 0.01)
  local deadline = loop.now() + timeout
  local bounded = self.deadline and deadline >= self.deadline
  local function timed_out(cfg)
    local message = string.format("timed out waiting for %s after %s (function %s: %s)", what,
      duration_text(bounded and self.total or timeout), name, cfg and status(cfg) or "GetFunction unanswered")
    if bounded then
      return nil, { type = "OperationTimeout", message = message .. "; " .. self:timeout_error().message }
    end
    return nil, { type = "WaiterTimeout", message = message }
  end
  local last
  while true do
    local doc, err = self:get_function(name)
    -- The operation's deadline cut a poll short (a slow endpoint or a loaded machine):
    -- the same error as when it strikes between polls, naming what was waited for.
    if not doc and bounded and err and err.type == "OperationTimeout" then return timed_out(last) end
    if not doc then return nil, err end
    local cfg = doc.Configuration -- an object: the response was checked
    if done(cfg) then return cfg end
    local why = failed(cfg)
    if why then return nil, { type = "WaiterFailed", message = string.format("function %s: %s", name, why) } end
    last = cfg
    if loop.now() + delay > deadline then return timed_out(cfg) end
    loop.sleep(delay)
    delay = math.min(delay * 1.5, 5)
  end
end

function Api:wait_active(name, timeout, delay)
  return self:wait(name, "State Active",
    function(c) return c.State == nil or c.State == "Active" end,
    function(c)
      if c.State == "Failed" or c.State == "Inactive" then
        return string.format("State is %s (%s: %s)", c.State, tostring(c.StateReasonCode), tostring(c.StateReason))
      end
    end,
    function(c) return "State is " .. tostring(c.State) end, timeout, delay)
end

function Api:wait_updated(name, timeout, delay)
  return self:wait(name, "LastUpdateStatus Successful",
    function(c) return c.LastUpdateStatus == nil or c.LastUpdateStatus == "Successful" end,
    function(c)
      if c.LastUpdateStatus == "Failed" then
        return string.format("LastUpdateStatus is Failed (%s: %s)", tostring(c.LastUpdateStatusReasonCode),
          tostring(c.LastUpdateStatusReason))
      end
    end,
    function(c) return "LastUpdateStatus is " .. tostring(c.LastUpdateStatus) end, timeout, delay)
end

M.format_error = client_lib.format_error

return M
