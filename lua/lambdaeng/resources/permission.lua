-- lambda.permission on the Lambda API (aws_lambda_permission): one statement of a
-- function's resource-based policy, added with AddPermission and removed with
-- RemovePermission; every argument replaces it (a statement cannot be edited). Read
-- back from GetPolicy by its Sid (refresh, import: ID "FUNCTION_NAME/STATEMENT_ID",
-- or "FUNCTION_NAME:QUALIFIER/STATEMENT_ID").
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"
local sys = require "lambdaeng.native.sys"
local errors = require "lambdaeng.errors"
local schema = require "lambdaeng.schema"
local deadline = require "lambdaeng.resources.deadline"

local M = {}

M.READABLE = { "action", "principal", "source_arn", "source_account", "event_source_token", "principal_org_id",
               "function_url_auth_type" }
M.SETS = {}

-- The statement id to use: the given one, the prefix with a unique suffix, or a
-- unique "lambdaeng-" id (as the reference provider makes "terraform-..." ones).
local function statement_id(a)
  if a.statement_id then return a.statement_id end
  local suffix = os.date("!%Y%m%d%H%M%S") .. nhash.hex(sys.random_bytes(6))
  return (a.statement_id_prefix or "lambdaeng-") .. suffix
end

local function bounded(ctx, decl, which) return deadline.bounded(ctx, schema.permission, decl, which) end

function M.create(ctx, decl, a)
  local api = bounded(ctx, decl, "create")
  local sid = statement_id(a)
  local input = { StatementId = sid, Action = a.action, Principal = a.principal, SourceArn = a.source_arn,
                  SourceAccount = a.source_account, EventSourceToken = a.event_source_token,
                  PrincipalOrgID = a.principal_org_id, FunctionUrlAuthType = a.function_url_auth_type }
  local _, err = api:add_permission(a.function_name, input, a.qualifier)
  if err then return nil, err end
  return { args = a, attrs = { statement_id = sid, id = sid } }
end

-- Nothing changes in place: lifecycle-only arguments are recorded.
function M.update(_, _, a, prior) return { args = a, attrs = prior.attrs or {} } end

function M.delete(ctx, decl, prior)
  local a, sid = prior.args or {}, prior.attrs and prior.attrs.statement_id
  if not (a.function_name and sid) then return true end
  local api = bounded(ctx, decl, "delete")
  return errors.deleted(api:remove_permission(a.function_name, sid, a.qualifier))
end

-- "FUNCTION[:QUALIFIER]/SID" -> function name, qualifier or nil, statement id
function M.parse_id(id)
  if type(id) ~= "string" then return nil end
  local target, sid = id:match("^(.+)/([^/]+)$")
  if not target then return nil end
  local fn, q = target:match("^([^:]+):([^:]+)$")
  if fn and not target:match("^arn:") then return fn, q, sid end
  return target, nil, sid
end

-- The principal as AddPermission was given it: a service, an account id, an ARN or "*".
local function principal_of(p)
  if type(p) == "string" then return p end
  if type(p) ~= "table" then return nil end
  if p.Service then return p.Service end
  local aws = p.AWS
  if type(aws) == "string" then
    return aws:match("^arn:aws[%w%-]*:iam::(%d+):root$") or aws
  end
end

-- The arguments a policy statement describes.
local function args_from(st, fn, qualifier)
  local cond = type(st.Condition) == "table" and st.Condition or {}
  local like, eq = cond.ArnLike or {}, cond.StringEquals or {}
  local args = { function_name = fn, qualifier = qualifier, statement_id = st.Sid, action = st.Action,
                 principal = principal_of(st.Principal), source_arn = like["AWS:SourceArn"],
                 source_account = eq["AWS:SourceAccount"], event_source_token = eq["lambda:EventSourceToken"],
                 principal_org_id = eq["aws:PrincipalOrgID"], function_url_auth_type = eq["lambda:FunctionUrlAuthType"] }
  return args
end

-- Reads a statement back: { args, attrs }, or nil and the error (ResourceNotFoundException
-- when the function, its policy or the statement is gone).
function M.read(ctx, id)
  local fn, qualifier, sid = M.parse_id(id)
  if not fn then
    return nil, { type = "InvalidArgument", message = string.format("%q is not FUNCTION_NAME/STATEMENT_ID",
      tostring(id)) }
  end
  local doc, err = ctx.api:get_policy(fn, qualifier)
  if not doc then return nil, err end
  local okp, policy = pcall(json.decode_plain, doc.Policy or "")
  if not okp or type(policy) ~= "table" then
    return nil, { type = "InvalidResponse", message = "GetPolicy: Policy is not a JSON policy document" }
  end
  for _, st in ipairs(policy.Statement or {}) do
    if type(st) == "table" and st.Sid == sid then
      return { args = args_from(st, fn, qualifier), attrs = { statement_id = sid, id = sid } }
    end
  end
  return nil, { type = "ResourceNotFoundException", message = "no statement " .. sid .. " in the policy of " .. fn }
end

function M.id_of(entry)
  local a, sid = entry.args or {}, entry.attrs and entry.attrs.statement_id
  if type(a.function_name) ~= "string" or type(sid) ~= "string" then return nil end
  return a.function_name .. (a.qualifier and (":" .. a.qualifier) or "") .. "/" .. sid
end

-- Import keeps the stack's own spelling of the function and the prefix it asked for.
function M.import_args(declared, read)
  local args = read.args
  if declared.statement_id == nil then args.statement_id = nil end
  if type(declared.statement_id_prefix) == "string" then args.statement_id_prefix = declared.statement_id_prefix end
  if type(declared.function_name) == "string" then args.function_name = declared.function_name end
  return args
end

return M
