-- lambda.alias on the Lambda API (aws_lambda_alias): CreateAlias, UpdateAlias for
-- function_version, description and routing_config (a change of name or
-- function_name replaces it), DeleteAlias; read back with GetAlias (refresh,
-- import: ID "FUNCTION_NAME/ALIAS" or the alias ARN).
local errors = require "lambdaeng.errors"
local schema = require "lambdaeng.schema"
local deadline = require "lambdaeng.resources.deadline"

local M = {}

M.READABLE = { "function_version", "description", "routing_config" }
M.SETS = {}

local function invoke_arn(region, arn)
  return arn and string.format("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, arn)
end

-- The request body's RoutingConfig: the weights, or an empty one (which clears them).
local function routing(a)
  local weights = type(a.routing_config) == "table" and a.routing_config.additional_version_weights or nil
  local out = {}
  for k, v in pairs(weights or {}) do out[k] = v end
  return { AdditionalVersionWeights = out } -- {} (an empty object) clears them
end

local function input_of(a)
  return { FunctionVersion = a.function_version, Description = a.description or "", RoutingConfig = routing(a) }
end

local function attrs_from(ctx, doc)
  return { arn = doc.AliasArn, invoke_arn = invoke_arn(ctx.region, doc.AliasArn) }
end

-- The arguments a GetAlias answer describes (an empty description or routing is unset).
local function args_from(doc, function_name)
  local args = { name = doc.Name, function_name = function_name, function_version = doc.FunctionVersion }
  if type(doc.Description) == "string" and doc.Description ~= "" then args.description = doc.Description end
  local w = doc.RoutingConfig and doc.RoutingConfig.AdditionalVersionWeights
  if type(w) == "table" and next(w) then
    local weights = {}
    for k, v in pairs(w) do weights[k] = v end
    args.routing_config = { additional_version_weights = weights }
  end
  return args
end

local function bounded(ctx, decl, which) return deadline.bounded(ctx, schema.alias, decl, which) end

function M.create(ctx, decl, a)
  local api = bounded(ctx, decl, "create")
  local input = input_of(a)
  input.Name = a.name
  local doc, err = api:create_alias(a.function_name, input)
  if not doc then return nil, err end
  return { args = a, attrs = attrs_from(ctx, doc) }
end

function M.update(ctx, decl, a, prior)
  local api = bounded(ctx, decl, "update")
  local doc, err = api:update_alias(a.function_name, a.name, input_of(a))
  if not doc then return nil, err end
  local attrs = attrs_from(ctx, doc)
  if not attrs.arn then attrs = prior.attrs or {} end
  return { args = a, attrs = attrs }
end

function M.delete(ctx, decl, prior)
  local a = prior.args or {}
  if not (a.function_name and a.name) then return true end
  local api = bounded(ctx, decl, "delete")
  return errors.deleted(api:delete_alias(a.function_name, a.name))
end

-- "FUNCTION/ALIAS" or an alias ARN -> function name, alias name
function M.parse_id(id)
  if type(id) ~= "string" then return nil end
  local fn, name = id:match("^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+):([^:]+)$")
  if fn then return fn, name end
  return id:match("^(.+)/([^/]+)$")
end

-- Reads an alias back: { args, attrs }, or nil and the error (ResourceNotFoundException).
function M.read(ctx, id)
  local fn, name = M.parse_id(id)
  if not fn then
    return nil, { type = "InvalidArgument", message = string.format("%q is not FUNCTION_NAME/ALIAS or an alias ARN",
      tostring(id)) }
  end
  local doc, err = ctx.api:get_alias(fn, name)
  if not doc then return nil, err end
  return { args = args_from(doc, fn), attrs = attrs_from(ctx, doc) }
end

function M.id_of(entry)
  local a = entry.args or {}
  if type(a.function_name) ~= "string" or type(a.name) ~= "string" then return nil end
  return a.function_name .. "/" .. a.name
end

function M.import_args(_, read) return read.args end

return M
