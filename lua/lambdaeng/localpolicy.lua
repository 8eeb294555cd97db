-- The local target's resource-based policies (Lambda API 2015-03-31): AddPermission,
-- GetPolicy and RemovePermission in the API's shapes. Statements are kept with their
-- function (fn.policy[qualifier or "$LATEST"], in the order they were added) and
-- answered as Lambda writes them: Principal {"Service": ...} for a service,
-- {"AWS": "arn:aws:iam::ACCOUNT:root"} for an account, the ARN or "*" as given; the
-- source ARN as an ArnLike condition, the other sources as StringEquals.
local json = require "lambdaeng.json"
local sys = require "lambdaeng.native.sys"
local nhash = require "lambdaeng.native.hash"

local localapi = require "lambdaeng.localapi"

local M = {}
local err, ok, validation = localapi.error_response, localapi.ok, localapi.validation

local function revision() return nhash.hex(sys.random_bytes(16)) end

local function principal(p)
  if p == "*" then return "*" end
  if p:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then return { AWS = "arn:aws:iam::" .. p .. ":root" } end
  if p:match("^arn:") then return { AWS = p } end
  return { Service = p }
end

-- Checks AddPermission's input as the API model bounds it; nothing or the error response.
local function check(input)
  if type(input.StatementId) ~= "string" or not input.StatementId:match("^[%w%-_%.]+$") or #input.StatementId > 100 then
    return validation("statementId", input.StatementId, "Member must satisfy regular expression pattern: "
      .. "([a-zA-Z0-9-_.]+)")
  end
  if type(input.Action) ~= "string" or not (input.Action == "*" or input.Action:match("^lambda:[%a*]+$")) then
    return validation("action", input.Action, "Member must satisfy regular expression pattern: "
      .. "(lambda:[*]|lambda:[a-zA-Z]+|[*])")
  end
  if type(input.Principal) ~= "string" or not input.Principal:match("^[^%s]+$") then
    return validation("principal", input.Principal, "Member must satisfy regular expression pattern: [^\\s]+")
  end
  if input.SourceAccount ~= nil and not tostring(input.SourceAccount):match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then
    return validation("sourceAccount", input.SourceAccount, "Member must satisfy regular expression pattern: \\d{12}")
  end
  if input.PrincipalOrgID ~= nil and not tostring(input.PrincipalOrgID):match("^o%-[a-z0-9]+$") then
    return validation("principalOrgID", input.PrincipalOrgID, "Member must satisfy regular expression pattern: "
      .. "^o-[a-z0-9]{10,32}$")
  end
  if input.FunctionUrlAuthType ~= nil and input.FunctionUrlAuthType ~= "NONE" and input.FunctionUrlAuthType ~= "AWS_IAM" then
    return validation("functionUrlAuthType", input.FunctionUrlAuthType, "Member must satisfy enum value set: "
      .. "[NONE, AWS_IAM]")
  end
end

-- The statement of an AddPermission input on resource arn.
local function statement(input, arn)
  local st = { Sid = input.StatementId, Effect = "Allow", Principal = principal(input.Principal),
               Action = input.Action, Resource = arn }
  local cond = {}
  if input.SourceArn then cond.ArnLike = { ["AWS:SourceArn"] = input.SourceArn } end
  local eq = {}
  if input.SourceAccount then eq["AWS:SourceAccount"] = input.SourceAccount end
  if input.EventSourceToken then eq["lambda:EventSourceToken"] = input.EventSourceToken end
  if input.PrincipalOrgID then eq["aws:PrincipalOrgID"] = input.PrincipalOrgID end
  if input.FunctionUrlAuthType then eq["lambda:FunctionUrlAuthType"] = input.FunctionUrlAuthType end
  if next(eq) then cond.StringEquals = eq end
  if next(cond) then st.Condition = cond end
  return st
end

-- The qualifier's key in fn.policy, or nil and the error when it names nothing.
local policy_key = localapi.qualifier_key

local function add(t, ctx)
  local key, input, s, h, b = localapi.keyed_input(t, ctx, check)
  if not key then return s, h, b end
  ctx.fn.policy = ctx.fn.policy or {}
  local policy = ctx.fn.policy[key] or { statements = {} }
  if input.RevisionId and input.RevisionId ~= policy.revision then
    return err(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")
  end
  for _, st in ipairs(policy.statements) do
    if st.Sid == input.StatementId then
      return err(409, "ResourceConflictException", "The statement id (" .. input.StatementId .. ") provided already "
        .. "exists. Please provide a new statement id, or remove the existing statement.")
    end
  end
  local arn = t:arn(ctx.name) .. (key ~= "$LATEST" and (":" .. key) or "")
  local st = statement(input, arn)
  policy.statements[#policy.statements + 1] = st
  policy.revision = revision()
  ctx.fn.policy[key] = policy
  t:save()
  return ok(201, { Statement = json.encode_plain(st) })
end

local function get(t, ctx)
  local key, s, h, b = policy_key(t, ctx)
  if not key then return s, h, b end
  local policy = ctx.fn.policy and ctx.fn.policy[key]
  if not policy or #policy.statements == 0 then
    return err(404, "ResourceNotFoundException", "The resource you requested does not exist.")
  end
  local doc = { Version = "2012-10-17", Id = "default", Statement = json.array(policy.statements) }
  return ok(200, { Policy = json.encode_plain(doc), RevisionId = policy.revision })
end

local function remove(t, ctx, sid)
  local key, s, h, b = policy_key(t, ctx)
  if not key then return s, h, b end
  local policy = ctx.fn.policy and ctx.fn.policy[key]
  for i, st in ipairs(policy and policy.statements or {}) do
    if st.Sid == sid then
      table.remove(policy.statements, i)
      policy.revision = revision()
      t:save()
      return ok(204)
    end
  end
  return err(404, "ResourceNotFoundException", "The resource you requested does not exist.")
end

-- The handler of a request on /<date>/functions/NAME<rest>, or nil.
M.route = localapi.subresource("policy", { POST = add, GET = get }, { DELETE = remove })

return M
