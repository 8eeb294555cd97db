-- The Lambda REST API (2015-03-31) operations lambdaeng uses, their method, path
-- and query from the one table of the API's operations (aws/lambda_operations.lua,
-- through aws/lambda_call.lua). Invoke is in aws/lambda_invoke.lua and the waiters between
-- operations in aws/lambda_waiters.lua, both methods of the same Api. Each operation runs
-- inside a task and returns the decoded response, or nil and an error { type, message, ... }.
local loop = require "lambdaeng.native.loop"
local json = require "lambdaeng.json"
local client_lib = require "lambdaeng.aws.client"
local shape = require "lambdaeng.aws.shape"
local lambda_call = require "lambdaeng.aws.lambda_call"

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

-- Invoke (aws/lambda_invoke.lua) and the waiters (aws/lambda_waiters.lua) are methods
-- of the same Api; what they export is re-exported here for the callers that had it.
local lambda_invoke = require "lambdaeng.aws.lambda_invoke"
local lambda_waiters = require "lambdaeng.aws.lambda_waiters"
for name, method in pairs(lambda_invoke.methods) do Api[name] = method end
for name, method in pairs(lambda_waiters.methods) do Api[name] = method end
M.INVOKE_MAX_RESPONSE = lambda_invoke.INVOKE_MAX_RESPONSE
M.function_error = lambda_invoke.function_error
M.with_error_message = lambda_invoke.with_error_message
M.log_tail = lambda_invoke.log_tail
M.duration_text = lambda_waiters.duration_text
M.format_error = client_lib.format_error

return M
