-- lambda.invocation, lambda.ephemeral_invocation and lambda.action on the Invoke
-- API, with the CRUD lifecycle payloads of the reference documents (seeds 001, 003).
local json = require "lambdaeng.json"
local printable = require("lambdaeng.aws.client").printable -- what the endpoint sends, safe to print
local lambda_api = require "lambdaeng.aws.lambda_api"
local secrets = require "lambdaeng.secrets"
local errors = require "lambdaeng.errors"

local M = {}

-- The CRUD payload: the input object with the lifecycle key added, e.g.
-- {"key1":"value1","key2":"value2","tf":{"action":"create","prev_input":null}}.
function M.crud_payload(input, key, action, prev_input)
  local obj = json.decode_plain(input)
  local prev = json.null
  if prev_input ~= nil then prev = json.decode_plain(prev_input) end
  obj[key or "tf"] = { action = action, prev_input = prev }
  return json.encode_plain(obj)
end

-- Invokes and turns a function error into a resource failure with the function's message.
local function invoke_checked(ctx, name, opts)
  local r, err = ctx.api:invoke(name, opts)
  if not r then return nil, err end
  local etype, emsg = lambda_api.function_error(r)
  if etype then
    return nil, errors.new("FunctionError", printable(string.format("%s (%s): %s", etype, r.function_error, emsg)))
  end
  return r
end
M.invoke_checked = invoke_checked

local function run_invocation(ctx, a, action, prev_input, timeout)
  -- the resource's timeouts bound the invocation as a whole
  if timeout then
    local loop = require "lambdaeng.native.loop"
    ctx = setmetatable({ api = ctx.api:until_deadline(loop.now() + timeout, "invocation") }, { __index = ctx })
  end
  local payload = a.input
  if a.lifecycle_scope == "CRUD" then payload = M.crud_payload(a.input, a.terraform_key, action, prev_input) end
  local r, err = invoke_checked(ctx, a.function_name, { payload = payload, invocation_type = "RequestResponse",
                                                        qualifier = a.qualifier ~= "$LATEST" and a.qualifier or nil })
  if not r then return nil, err end
  return { args = a, attrs = { result = r.payload } }
end

-- The seconds of a declaration's timeouts entry (create, update or delete; 5 minutes by default).
local function timeout_of(decl, which)
  local validate = require "lambdaeng.validate"
  local t = decl and type(decl.meta.timeouts) == "table" and decl.meta.timeouts[which]
  return validate.duration_seconds(t or "5m")
end

function M.create(ctx, decl, a) return run_invocation(ctx, a, "create", nil, timeout_of(decl, "create")) end

function M.update(ctx, decl, a, prior)
  if a.lifecycle_scope ~= "CRUD" then
    return { args = a, attrs = prior.attrs or {} } -- nothing to invoke: only stored arguments changed
  end
  return run_invocation(ctx, a, "update", prior.args and prior.args.input, timeout_of(decl, "update"))
end

-- On removal a CRUD invocation is invoked once more with action "delete".
function M.delete(ctx, decl, prior)
  local a = prior.args or {}
  if a.lifecycle_scope ~= "CRUD" then return true end
  local r, err = run_invocation(ctx, a, "delete", a.input, timeout_of(decl, "delete"))
  if not r then return nil, err end
  return true
end

-- An ephemeral invocation: the result is returned, never stored; a function
-- error does not fail it (the program decides).
function M.ephemeral(ctx, a)
  -- its own `region` chooses the endpoint it calls
  if a.region and ctx.for_region then ctx = ctx.for_region(a.region) end
  local r, err = ctx.api:invoke(a.function_name, {
    payload = a.payload, invocation_type = "RequestResponse", log_type = a.log_type ~= "None" and a.log_type or nil,
    client_context = a.client_context, qualifier = a.qualifier ~= "$LATEST" and a.qualifier or nil })
  if not r then return nil, err end
  -- Everything an ephemeral invocation returns is sensitive: never printed or stored in clear.
  secrets.add(r.payload)
  if r.log_result then
    secrets.add(r.log_result)
    local log = lambda_api.log_tail(r)
    if log then secrets.add(log) end
  end
  return { result = r.payload, function_error = r.function_error, log_result = r.log_result,
           status_code = r.status_code, executed_version = r.executed_version }
end

-- An action: one invoke of the given type; reports status and, for Tail, the decoded log.
function M.action(ctx, a)
  local r, err = ctx.api:invoke(a.function_name, {
    payload = a.payload, invocation_type = a.invocation_type,
    log_type = a.log_type ~= "None" and a.log_type or nil, client_context = a.client_context,
    qualifier = a.qualifier ~= "$LATEST" and a.qualifier or nil })
  if not r then return nil, err end
  local decoded = lambda_api.log_tail(r)
  local log = decoded and printable(decoded, 8192, true) or nil
  local etype, emsg = lambda_api.function_error(r)
  if etype then
    return nil, errors.new("FunctionError", printable(string.format("%s: %s", etype, emsg)), { log = log })
  end
  return { status_code = r.status_code, log = log, result = r.payload, executed_version = r.executed_version }
end

return M
