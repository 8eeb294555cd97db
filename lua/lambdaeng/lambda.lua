--- lambdaeng.lambda — declare AWS Lambda functions, invocations and actions.
-- Each call takes a name and an argument table and returns a handle whose
-- attributes are references (see lambdaeng.ref). The arguments are those of
-- the reference documents (schema.lua lists them all).
local stack = require "lambdaeng.stack"
local schema = require "lambdaeng.schema"

local M = {}

--- A Lambda function (aws_lambda_function).
function M.func(name, args) local h = stack.current():declare(schema.func, name, args, 2); return h end

--- A stateful invocation (aws_lambda_invocation): CREATE_ONLY or CRUD.
function M.invocation(name, args) local h = stack.current():declare(schema.invocation, name, args, 2); return h end

--- An invocation made on every plan and run whose result is never stored.
function M.ephemeral_invocation(name, args)
  local h = stack.current():declare(schema.ephemeral_invocation, name, args, 2)
  return h
end

--- An imperative invoke fired by lifecycle.action_trigger or `run --invoke`.
function M.action(name, args) local h = stack.current():declare(schema.action, name, args, 2); return h end

--- A layer version (aws_lambda_layer_version): shared code mounted at /opt.
function M.layer_version(name, args)
  local h = stack.current():declare(schema.layer_version, name, args, 2)
  return h
end

--- An alias (aws_lambda_alias): a name for a version, with optional weighted routing.
function M.alias(name, args) local h = stack.current():declare(schema.alias, name, args, 2); return h end

--- A statement of a function's resource-based policy (aws_lambda_permission).
function M.permission(name, args) local h = stack.current():declare(schema.permission, name, args, 2); return h end

--- A function URL (aws_lambda_function_url): an HTTP endpoint of a function or alias.
function M.function_url(name, args)
  local h = stack.current():declare(schema.function_url, name, args, 2)
  return h
end

--- Retries and destinations of asynchronous invocations (aws_lambda_function_event_invoke_config).
function M.event_invoke_config(name, args)
  local h = stack.current():declare(schema.event_invoke_config, name, args, 2)
  return h
end

-- An unknown kind (lambda.fn) is an error naming the nearest one, at the caller's line.
local KINDS = {}
for k in pairs(M) do KINDS[#KINDS + 1] = k end
table.sort(KINDS)
return setmetatable(M, { __index = function(_, key)
  local hint = type(key) == "string" and require("lambdaeng.validate").suggest(key, KINDS)
  error(string.format("lambda.%s is not a kind of declaration; %s", tostring(key), hint and
    ("did you mean lambda." .. hint .. "?") or ("the kinds: " .. table.concat(KINDS, ", "))), 2)
end })
