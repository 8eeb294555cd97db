-- The local target's aliases (Lambda API 2015-03-31): CreateAlias, GetAlias,
-- UpdateAlias, DeleteAlias and ListAliases in the API's shapes, stored with their
-- function (fn.aliases), and what an alias means to an invocation:
-- version(target, name, fn, qualifier) resolves a qualifier that names an alias to
-- the version that runs, routing the alias's additional version its weight's share
-- of invocations. The router is deterministic (error diffusion: each invocation adds
-- the weight to a running total and goes to the additional version when that total
-- reaches 1), so a 0.5 weight alternates exactly and any weight's share is exact to
-- within one invocation.
local json = require "lambdaeng.json"
local sys = require "lambdaeng.native.sys"
local nhash = require "lambdaeng.native.hash"

local localapi = require "lambdaeng.localapi"

local M = {}
local err, ok, validation = localapi.error_response, localapi.ok, localapi.validation

local function revision() return (nhash.hex(sys.random_bytes(16)):gsub("^(%x%x%x%x%x%x%x%x)(%x%x%x%x)(%x%x%x%x)(%x%x%x%x)",
  "%1-%2-%3-%4-")) end

-- The answer's document: RoutingConfig only when it routes somewhere.
local function document(alias)
  local out = { AliasArn = alias.AliasArn, Name = alias.Name, FunctionVersion = alias.FunctionVersion,
                Description = alias.Description or "", RevisionId = alias.RevisionId }
  local w = alias.RoutingConfig and alias.RoutingConfig.AdditionalVersionWeights
  if w and next(w) then out.RoutingConfig = { AdditionalVersionWeights = w } end
  return out
end

local function valid_name(name)
  return type(name) == "string" and #name >= 1 and #name <= 128 and name:match("^[%w_%-]+$")
    and not name:match("^%d+$")
end

-- Whether version names the function's $LATEST or one of its published versions.
local function version_exists(fn, version)
  return version == "$LATEST" or (type(version) == "string" and fn.versions[version] ~= nil)
end

-- Checks FunctionVersion and RoutingConfig of a create or update input (fields absent
-- in an update keep the alias's); returns nothing or the error response.
local function check(t, ctx, input, current)
  local version = input.FunctionVersion or (current and current.FunctionVersion)
  if input.FunctionVersion ~= nil and (type(input.FunctionVersion) ~= "string" or #input.FunctionVersion > 1024
      or not input.FunctionVersion:match("^[%w_%-%$]+$")) then
    return validation("functionVersion", input.FunctionVersion, "Member must satisfy regular expression pattern: "
      .. "(\\$LATEST|[0-9]+)")
  end
  if not version_exists(ctx.fn, version) then return t:not_found(ctx.name, version) end
  if input.Description ~= nil and (type(input.Description) ~= "string" or #input.Description > 256) then
    return validation("description", input.Description, "Member must have length less than or equal to 256")
  end
  local rc = input.RoutingConfig
  if rc == nil then return end
  local weights = type(rc) == "table" and rc.AdditionalVersionWeights or {}
  if type(weights) ~= "table" then return validation("routingConfig", "...", "Member must be a map") end
  local n = 0
  for v, w in pairs(weights) do
    n = n + 1
    if type(w) ~= "number" or w < 0 or w > 1 then
      return validation("routingConfig.additionalVersionWeights." .. tostring(v), w,
        "Member must have value between 0.0 and 1.0")
    end
    if not tostring(v):match("^%d+$") or not ctx.fn.versions[v] then
      return err(400, "InvalidParameterValueException", "The specified version " .. tostring(v)
        .. " for the additional routing configuration does not exist, or is $LATEST")
    end
    if v == version then
      return err(400, "InvalidParameterValueException", "The additional version " .. v .. " cannot be the same as "
        .. "the primary version of the alias")
    end
    if version == "$LATEST" then
      return err(400, "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more "
        .. "than 1 version")
    end
  end
  if n > 1 then
    return validation("routingConfig.additionalVersionWeights", "{...}", "Member must have length less than or equal to 1")
  end
end

local function create(t, ctx)
  local input, ds, dh, db = localapi.json_body(ctx.req.body) -- (its answer names a number past 64 bits)
  if not input then return ds, dh, db end
  if not valid_name(input.Name) then
    return validation("name", input.Name, "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
  end
  if input.FunctionVersion == nil then return validation("functionVersion", "null", "Member must not be null") end
  local s, h, b = check(t, ctx, input)
  if s then return s, h, b end
  ctx.fn.aliases = ctx.fn.aliases or {}
  local arn = t:arn(ctx.name) .. ":" .. input.Name
  if ctx.fn.aliases[input.Name] then return err(409, "ResourceConflictException", "Alias already exists: " .. arn) end
  local alias = { AliasArn = arn, Name = input.Name, FunctionVersion = input.FunctionVersion,
                  Description = input.Description or "", RoutingConfig = input.RoutingConfig, RevisionId = revision() }
  ctx.fn.aliases[input.Name] = alias
  t:save()
  t:note("CreateAlias %s:%s -> %s", ctx.name, input.Name, input.FunctionVersion)
  return ok(201, document(alias))
end

local function alias_of(t, ctx, name)
  local alias = ctx.fn.aliases and ctx.fn.aliases[name]
  if not alias then
    return nil, err(404, "ResourceNotFoundException", "Alias not found: " .. t:arn(ctx.name) .. ":" .. tostring(name))
  end
  return alias
end

local function get(t, ctx, name)
  local alias, s, h, b = alias_of(t, ctx, name)
  if not alias then return s, h, b end
  return ok(200, document(alias))
end

local function update(t, ctx, name)
  local alias, s, h, b = alias_of(t, ctx, name)
  if not alias then return s, h, b end
  local input, ds, dh, db = localapi.json_body(ctx.req.body) -- (its answer names a number past 64 bits)
  if not input then return ds, dh, db end
  if input.RevisionId and input.RevisionId ~= alias.RevisionId then
    return err(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
      .. "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
  end
  s, h, b = check(t, ctx, input, alias)
  if s then return s, h, b end
  if input.FunctionVersion then alias.FunctionVersion = input.FunctionVersion end
  if input.Description then alias.Description = input.Description end
  if input.RoutingConfig then alias.RoutingConfig = input.RoutingConfig end
  alias.RevisionId = revision()
  t.routed[ctx.name .. ":" .. name] = nil -- a new routing starts its count afresh
  t:save()
  return ok(200, document(alias))
end

local function delete(t, ctx, name)
  if ctx.fn.aliases and ctx.fn.aliases[name] then
    ctx.fn.aliases[name] = nil
    t.routed[ctx.name .. ":" .. name] = nil
    t:save()
  end
  return ok(204) -- as Lambda: deleting an alias that is not there succeeds
end

local function list(_, ctx)
  local q = ctx.query
  local names = {}
  for name, alias in pairs(ctx.fn.aliases or {}) do
    if not q.FunctionVersion or alias.FunctionVersion == q.FunctionVersion then names[#names + 1] = name end
  end
  table.sort(names)
  local max = tonumber(q.MaxItems or "50")
  if not max or max < 1 or max > 10000 then
    return validation("maxItems", q.MaxItems, "Member must have value between 1 and 10000")
  end
  local first = tonumber(q.Marker or "1") or 1
  local page = {}
  for i = first, math.min(#names, first + max - 1) do page[#page + 1] = document(ctx.fn.aliases[names[i]]) end
  local doc = { Aliases = json.array(page) }
  if first + max <= #names then doc.NextMarker = tostring(first + max) end
  return ok(200, doc)
end

-- The handler of a request on /<date>/functions/NAME<rest>, or nil.
M.route = localapi.subresource("aliases", { POST = create, GET = list }, { GET = get, PUT = update, DELETE = delete })

-- The alias qualifier names, or nil (a version, $LATEST, or nothing).
function M.alias(fn, qualifier)
  if not qualifier or qualifier == "$LATEST" or qualifier:match("^%d+$") then return nil end
  return fn.aliases and fn.aliases[qualifier]
end

-- The version an invocation of NAME:qualifier runs: the qualifier itself unless it
-- is an alias; an alias's primary version, or its additional one for its share.
function M.version(t, name, fn, qualifier)
  local alias = M.alias(fn, qualifier)
  if not alias then return qualifier end
  local weights = alias.RoutingConfig and alias.RoutingConfig.AdditionalVersionWeights
  local extra, weight = next(weights or {})
  if not extra or (tonumber(weight) or 0) <= 0 then return alias.FunctionVersion end
  local key = name .. ":" .. qualifier
  local total = (t.routed[key] or 0) + weight
  if total >= 1 - 1e-9 then
    t.routed[key] = total - 1
    return extra
  end
  t.routed[key] = total
  return alias.FunctionVersion
end

return M
