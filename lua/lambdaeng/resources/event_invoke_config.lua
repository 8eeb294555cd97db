-- lambda.event_invoke_config on the Lambda API (aws_lambda_function_event_invoke_config):
-- how asynchronous invocations of a function (or of one qualifier) are retried and where
-- their outcome goes. Created and updated with PutFunctionEventInvokeConfig (the whole
-- configuration), deleted with DeleteFunctionEventInvokeConfig, read back with
-- GetFunctionEventInvokeConfig (refresh, import: ID "FUNCTION_NAME[:QUALIFIER]").

local of_function = require "lambdaeng.resources.of_function"
local errors = require "lambdaeng.errors"
local schema = require "lambdaeng.schema"
local deadline = require "lambdaeng.resources.deadline"

local M = {}

M.READABLE = { "maximum_retry_attempts", "maximum_event_age_in_seconds", "destination_config" }
M.SETS = {}

local function input_of(a)
  local input = { MaximumRetryAttempts = a.maximum_retry_attempts,
                  MaximumEventAgeInSeconds = a.maximum_event_age_in_seconds }
  local dc = a.destination_config
  if type(dc) == "table" then
    input.DestinationConfig = {}
    for key, field in pairs { on_success = "OnSuccess", on_failure = "OnFailure" } do
      if type(dc[key]) == "table" then input.DestinationConfig[field] = { Destination = dc[key].destination } end
    end
  end
  return input
end

local function args_from(doc, fn, qualifier)
  local args = { function_name = fn, qualifier = qualifier, maximum_retry_attempts = doc.MaximumRetryAttempts,
                 maximum_event_age_in_seconds = doc.MaximumEventAgeInSeconds }
  local dc = doc.DestinationConfig or {}
  local out = {}
  for key, field in pairs { on_success = "OnSuccess", on_failure = "OnFailure" } do
    local d = dc[field]
    if type(d) == "table" and type(d.Destination) == "string" and d.Destination ~= "" then
      out[key] = { destination = d.Destination }
    end
  end
  if next(out) then args.destination_config = out end
  return args
end

local function bounded(ctx, decl, which) return deadline.bounded(ctx, schema.event_invoke_config, decl, which) end

local function put(ctx, decl, a, which)
  local api = bounded(ctx, decl, which)
  local doc, err = api:put_function_event_invoke_config(a.function_name, input_of(a), a.qualifier)
  if not doc then return nil, err end
  return { args = a, attrs = { id = a.function_name .. (a.qualifier and (":" .. a.qualifier) or "") } }
end

function M.create(ctx, decl, a) return put(ctx, decl, a, "create") end
function M.update(ctx, decl, a) return put(ctx, decl, a, "update") end

function M.delete(ctx, decl, prior)
  local a = prior.args or {}
  if not a.function_name then return true end
  local api = bounded(ctx, decl, "delete")
  return errors.deleted(api:delete_function_event_invoke_config(a.function_name, a.qualifier))
end

function M.parse_id(id)
  if type(id) ~= "string" or id == "" then return nil end
  if id:match("^arn:") then
    local fn, q = id:match("^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+):?(.*)$")
    return fn, q ~= "" and q or nil
  end
  local fn, q = id:match("^([^:]+):?(.*)$")
  return fn, q ~= "" and q or nil
end

function M.read(ctx, id)
  local fn, qualifier = M.parse_id(id)
  if not fn then return nil, { type = "InvalidArgument", message = "an import ID is FUNCTION_NAME[:QUALIFIER]" } end
  local doc, err = ctx.api:get_function_event_invoke_config(fn, qualifier)
  if not doc then return nil, err end
  return { args = args_from(doc, fn, qualifier), attrs = { id = id } }
end

M.id_of = of_function.id_of(":")

M.import_args = of_function.import_args

return M
