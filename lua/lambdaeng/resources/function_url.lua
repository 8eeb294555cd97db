-- lambda.function_url on the Lambda API (aws_lambda_function_url): CreateFunctionUrlConfig,
-- UpdateFunctionUrlConfig for authorization_type, cors and invoke_mode (a new
-- function_name or qualifier replaces it), DeleteFunctionUrlConfig; read back with
-- GetFunctionUrlConfig (refresh, import: ID "FUNCTION_NAME" or "FUNCTION_NAME/QUALIFIER").
local json = require "lambdaeng.json"

local of_function = require "lambdaeng.resources.of_function"
local errors = require "lambdaeng.errors"
local schema = require "lambdaeng.schema"
local deadline = require "lambdaeng.resources.deadline"

local M = {}

M.READABLE = { "authorization_type", "cors", "invoke_mode" }
M.SETS = {}

local CORS_LISTS = { allow_headers = "AllowHeaders", allow_methods = "AllowMethods", allow_origins = "AllowOrigins",
                     expose_headers = "ExposeHeaders" }

local function sorted(list)
  local out = table.move(list, 1, #list, 1, {})
  table.sort(out)
  return out
end

-- The request's Cors: the block's fields, or an empty object (which removes it on update).
local function cors_input(c)
  local out = {}
  if type(c) ~= "table" then return out end
  for k, field in pairs(CORS_LISTS) do
    if type(c[k]) == "table" then out[field] = json.array(sorted(c[k])) end
  end
  out.AllowCredentials = c.allow_credentials
  out.MaxAge = c.max_age
  return out
end

-- The cors block an answer's Cors describes (nil when it sets nothing).
local function cors_args(c)
  if type(c) ~= "table" then return nil end
  local out = {}
  for k, field in pairs(CORS_LISTS) do
    if type(c[field]) == "table" and #c[field] > 0 then out[k] = sorted(c[field]) end
  end
  if c.AllowCredentials == true then out.allow_credentials = true end
  if math.type(c.MaxAge) == "integer" and c.MaxAge > 0 then out.max_age = c.MaxAge end
  return next(out) and out or nil
end

local function url_id(url)
  return type(url) == "string" and (url:match("^https?://([^%.%./:]+)%.lambda%-url") or url) or nil
end

local function attrs_from(doc)
  return { function_arn = doc.FunctionArn, function_url = doc.FunctionUrl, url_id = url_id(doc.FunctionUrl) }
end

local function bounded(ctx, decl, which) return deadline.bounded(ctx, schema.function_url, decl, which) end

function M.create(ctx, decl, a)
  local api = bounded(ctx, decl, "create")
  local input = { AuthType = a.authorization_type, InvokeMode = a.invoke_mode }
  if a.cors then input.Cors = cors_input(a.cors) end
  local doc, err = api:create_function_url_config(a.function_name, input, a.qualifier)
  if not doc then return nil, err end
  return { args = a, attrs = attrs_from(doc) }
end

function M.update(ctx, decl, a, prior)
  local api = bounded(ctx, decl, "update")
  local input = { AuthType = a.authorization_type, InvokeMode = a.invoke_mode, Cors = cors_input(a.cors) }
  local doc, err = api:update_function_url_config(a.function_name, input, a.qualifier)
  if not doc then return nil, err end
  local attrs = attrs_from(doc)
  if not attrs.function_url then attrs = prior.attrs or {} end
  return { args = a, attrs = attrs }
end

function M.delete(ctx, decl, prior)
  local a = prior.args or {}
  if not a.function_name then return true end
  local api = bounded(ctx, decl, "delete")
  return errors.deleted(api:delete_function_url_config(a.function_name, a.qualifier))
end

function M.parse_id(id)
  if type(id) ~= "string" or id == "" then return nil end
  local fn, q = id:match("^([^/]+)/([^/]+)$")
  if fn then return fn, q end
  return id, nil
end

function M.read(ctx, id)
  local fn, qualifier = M.parse_id(id)
  if not fn then return nil, { type = "InvalidArgument", message = "an import ID is FUNCTION_NAME[/QUALIFIER]" } end
  local doc, err = ctx.api:get_function_url_config(fn, qualifier)
  if not doc then return nil, err end
  local args = { function_name = fn, qualifier = qualifier, authorization_type = doc.AuthType,
                 invoke_mode = doc.InvokeMode or "BUFFERED", cors = cors_args(doc.Cors) }
  return { args = args, attrs = attrs_from(doc) }
end

M.id_of = of_function.id_of("/")

M.import_args = of_function.import_args

return M
