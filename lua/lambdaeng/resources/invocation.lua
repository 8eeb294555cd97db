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
-- The input is sent on: its empty arrays stay arrays and its integers within 64 bits exact.
-- What the exact reader refuses (a number past 64 bits or a double's range, text only cjson
-- takes, or no JSON: cjson's message) is read by cjson as before; Terraform's provider
-- reads every number of the input as a float64.
local function sent_on(text)
  local v, why = json.decode_exact(text)
  if why then return json.decode_keeping_arrays(text) end
  return v
end

function M.crud_payload(input, key, action, prev_input)
  local obj = sent_on(input)
  local prev = json.null
  if prev_input ~= nil then prev = sent_on(prev_input) end
  obj[key or "tf"] = { action = action, prev_input = prev }
  return json.encode_plain(obj)
end

-- Why a result cannot be kept (nil when it can). `result` is text that state (JSON)
-- holds and dependents read as a string; bytes that are not UTF-8 could only be
-- kept by changing them (Terraform's provider stores them through Go's JSON
-- encoder, which turns each bad byte into U+FFFD) or by storing something else
-- than what dependents were promised (base64 in place of the text). Neither is
-- what the function said, so the invocation fails with where the bytes go wrong;
-- nothing is recorded and the next run invokes again once the function returns
-- text (binary data base64-encoded, as Lambda's own JSON answers carry it).
function M.result_problem(payload)
  if payload == nil or utf8.len(payload) then return nil end
  local _, at = utf8.len(payload)
  return string.format("returned a result that is not UTF-8 text (byte %d of %d is 0x%02X); lambdaeng keeps "
    .. "results as text, so this invocation is not recorded and the next run invokes it again: make the "
    .. "function return text (binary data base64-encoded)", at, #payload, payload:byte(at))
end

-- Invokes and turns a function error into a resource failure with the function's message.
local function invoke_checked(ctx, name, opts)
  local r, err = ctx.api:invoke(name, opts)
  if not r then return nil, err end
  local etype, emsg = lambda_api.function_error(r)
  if etype then
    return nil, errors.new("FunctionError", printable(lambda_api.with_error_message(
      string.format("%s (%s)", etype, r.function_error), emsg)))
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
  -- a delete keeps nothing, so whatever its result holds is no reason to fail it
  local problem = action ~= "delete" and M.result_problem(r.payload)
  if problem then
    return nil, { type = "InvalidResult", message = string.format("function %s %s", tostring(a.function_name), problem) }
  end
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
  if r then return true end
  if err.type == "ResourceNotFoundException" then
    -- The function (or version) the delete must run in is gone, so the delete hook can
    -- never run. As Terraform's provider does (its Delete invokes and fails on any
    -- error), this stays an error rather than a silent drop: the hook is the stack's
    -- cleanup contract and whatever it should clean up is still there. The message
    -- names the function and the one way out, so the stack is never stuck for good.
    local addr = ctx.address or "the invocation"
    err = { type = err.type, status = err.status, message = string.format(
      "the delete invocation cannot run: function %s%s no longer exists (%s). Whatever its delete would clean "
      .. "up is left as it is; if that is acceptable, `lambdaeng state rm %s` and run again",
      tostring(a.function_name), a.qualifier and a.qualifier ~= "$LATEST" and (" (qualifier " .. a.qualifier .. ")") or "",
      err.message or "not found", addr) }
  end
  return nil, err
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
    return nil, errors.new("FunctionError", printable(lambda_api.with_error_message(etype, emsg)), { log = log })
  end
  return { status_code = r.status_code, log = log, result = r.payload, executed_version = r.executed_version }
end

return M
