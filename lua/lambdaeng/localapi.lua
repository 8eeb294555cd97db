-- The local target's operations on a function's sub-resources, as the Lambda API
-- model (2015-03-31) shapes them: versions (PublishVersion with its CodeSha256 and
-- RevisionId preconditions, ListVersionsByFunction paged by Marker / MaxItems),
-- reserved concurrency (Put / Get / Delete), tags (Tag / Untag / List), the code
-- signing configuration (Get / Put / Delete: recorded, not enforced) and
-- DeleteFunction of a function or of one version. Each handler is
-- handler(target, ctx) with ctx = { name, fn, qualifier, req, query } and returns
-- status, headers, body. M.route(rest, method) finds the handler of a request on
-- /<date>/functions/NAME<rest>. Its response helpers serve localtarget.lua too:
-- error_response(status, type, message), ok(status, doc), input_of(operation, body);
-- and the other sub-resource modules share subresource(path, collection, item) (their
-- router), qualifier_key(t, ctx) and keyed_input(t, ctx, check) (a per-qualifier write).
local json = require "lambdaeng.json"
local localinput = require "lambdaeng.localinput"
local localconfig = require "lambdaeng.localconfig"

local M = {}

-- An error answer as Lambda gives it: the type in x-amzn-ErrorType, the message in the body.
local function err(status, kind, message)
  return status, { ["x-amzn-ErrorType"] = kind, ["Content-Type"] = "application/json" },
    json.encode_plain { Type = "User", message = message }
end
M.error_response = err

local function ok(status, doc)
  return status, { ["Content-Type"] = "application/json" }, doc ~= nil and json.encode_plain(doc) or ""
end
M.ok = ok

-- The same with the body encoded already.
function M.ok_encoded(status, body) return status, { ["Content-Type"] = "application/json" }, body end

-- A request body's JSON object ("" is {}), or nil and the API's answer to a body that is not one.
function M.json_body(body)
  local input, why = localinput.decode_body(body ~= "" and body or "{}")
  if type(input) == "table" then return input end
  return nil, err(400, "InvalidRequestContentException", "Could not parse request body into json"
    .. (why and ": " .. why or ""))
end

-- A path segment's %XX escapes decoded.
function M.url_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The router of a function's sub-resource at /<date>/functions/NAME/<path>, as
-- route(rest, method) -> handler or nil: collection[method] serves /path and /path/,
-- item[method](t, ctx, id) serves /path/ID with ID URL-decoded.
function M.subresource(path, collection, item)
  local base = "/" .. path
  local base_slash = base .. "/"
  return function(rest, method)
    if rest == base or rest == base_slash then return collection[method] end
    local id = rest:sub(1, #base_slash) == base_slash and rest:sub(#base_slash + 1):match("^[^/]+$")
    local handler = id and item[method]
    if not handler then return nil end
    id = M.url_decode(id)
    return function(t, ctx) return handler(t, ctx, id) end
  end
end

-- The key of the request's qualifier in a per-qualifier table: "$LATEST" for none or
-- $LATEST, the qualifier when it names a version or an alias of the function, else
-- nil and the not-found answer.
function M.qualifier_key(t, ctx)
  local q = ctx.qualifier
  if not q or q == "$LATEST" then return "$LATEST" end
  if ctx.fn.versions[q] or (ctx.fn.aliases and ctx.fn.aliases[q]) then return q end
  return nil, t:not_found(ctx.name, q)
end

-- A write on a per-qualifier sub-resource: the qualifier's key (qualifier_key) and the
-- request's JSON body that check(input) passes, or nil, nil and the answer.
function M.keyed_input(t, ctx, check)
  local key, s, h, b = M.qualifier_key(t, ctx)
  if not key then return nil, nil, s, h, b end
  local input, bs, bh, bb = M.json_body(ctx.req.body)
  if not input then return nil, nil, bs, bh, bb end
  s, h, b = check(input)
  if s then return nil, nil, s, h, b end
  return key, input
end

-- A ValidationException as the API words it (a member that fails its constraint).
function M.validation(field, value, constraint)
  return err(400, "ValidationException", string.format("1 validation error detected: Value '%s' at '%s' failed to "
    .. "satisfy constraint: %s", tostring(value), field, constraint))
end

-- A request's body checked against the operation's input shape, or nil and the error response.
local function input_of(operation, body)
  local input, ierr = localinput.check(operation, body)
  if not input then return nil, err(400, ierr.type, ierr.message) end
  return input
end
M.input_of = input_of

local function publish_version(t, ctx)
  local s1, h1, b1 = t:in_progress(ctx.name)
  if s1 then return s1, h1, b1 end
  local input, s2, h2, b2 = input_of("PublishVersion", ctx.req.body)
  if not input then return s2, h2, b2 end
  local latest = ctx.fn.latest
  if input.CodeSha256 and input.CodeSha256 ~= latest.CodeSha256 then
    return err(400, "InvalidParameterValueException", string.format("CodeSHA256 (%s) is different from current "
      .. "CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", input.CodeSha256,
      tostring(latest.CodeSha256)))
  end
  if input.RevisionId and input.RevisionId ~= latest.RevisionId then
    return err(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
      .. "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
  end
  local v = t:publish(ctx.name, input)
  t:save()
  return ok(201, localconfig.document(v))
end

-- $LATEST first, then the versions in order; MaxItems (1..10000, default 50) a page,
-- Marker where the previous page stopped (NextMarker, present while more follow).
local function list_versions(t, ctx)
  local fn, query = ctx.fn, ctx.query
  local max_items = 50
  if query.MaxItems then
    max_items = math.tointeger(tonumber(query.MaxItems))
    if not max_items or max_items < 1 or max_items > 10000 then
      return err(400, "ValidationException", string.format("1 validation error detected: Value '%s' at 'maxItems' "
        .. "failed to satisfy constraint: Member must have value between 1 and 10000", tostring(query.MaxItems)))
    end
  end
  -- $LATEST is listed with its qualified ARN, as Lambda lists it
  local latest = localconfig.document(fn.latest)
  latest.FunctionArn = t:arn(ctx.name) .. ":$LATEST"
  local list = { latest }
  local keys = {}
  for v in pairs(fn.versions) do keys[#keys + 1] = tonumber(v) end
  table.sort(keys)
  for _, v in ipairs(keys) do list[#list + 1] = localconfig.document(fn.versions[tostring(v)]) end
  local first = 1
  if query.Marker then
    first = math.tointeger(tonumber(query.Marker))
    if not first or first < 1 or first > #list + 1 then
      return err(400, "InvalidParameterValueException", "Marker is not one this function's versions gave")
    end
  end
  local page = {}
  for i = first, math.min(#list, first + max_items - 1) do page[#page + 1] = list[i] end
  local doc = { Versions = json.array(page) }
  if first + max_items <= #list then doc.NextMarker = tostring(first + max_items) end
  return ok(200, doc)
end

-- A Put operation of a setting kept in the function's record: the body checked,
-- its member stored in field, 200 with answer(ctx).
local function setter(operation, member, field, answer)
  return function(t, ctx)
    local input, s1, h1, b1 = input_of(operation, ctx.req.body)
    if not input then return s1, h1, b1 end
    ctx.fn[field] = input[member]
    t:save()
    return ok(200, answer(ctx))
  end
end

local put_concurrency = setter("PutFunctionConcurrency", "ReservedConcurrentExecutions", "concurrency",
  function(ctx) return { ReservedConcurrentExecutions = ctx.fn.concurrency } end)

-- A Delete operation of a setting kept in the function's record: cleared, 204.
local function clearer(field)
  return function(t, ctx)
    ctx.fn[field] = nil
    t:save()
    return ok(204)
  end
end
local delete_concurrency = clearer("concurrency")

local function get_concurrency(_, ctx)
  return ok(200, ctx.fn.concurrency and { ReservedConcurrentExecutions = ctx.fn.concurrency } or {})
end

local function get_code_signing(_, ctx)
  return ok(200, { CodeSigningConfigArn = ctx.fn.code_signing_config_arn or "", FunctionName = ctx.name })
end

local put_code_signing = setter("PutFunctionCodeSigningConfig", "CodeSigningConfigArn", "code_signing_config_arn",
  function(ctx) return { CodeSigningConfigArn = ctx.fn.code_signing_config_arn, FunctionName = ctx.name } end)

local delete_code_signing = clearer("code_signing_config_arn")

local function delete_function(t, ctx)
  local name, fn, qualifier = ctx.name, ctx.fn, ctx.qualifier
  if qualifier and qualifier ~= "$LATEST" then
    if not fn.versions[qualifier] then return t:not_found(name, qualifier) end
    local using = {}
    for alias_name, alias in pairs(fn.aliases or {}) do
      local w = alias.RoutingConfig and alias.RoutingConfig.AdditionalVersionWeights or {}
      if alias.FunctionVersion == qualifier or w[qualifier] then using[#using + 1] = alias_name end
    end
    if #using > 0 then
      table.sort(using)
      return err(409, "ResourceConflictException", "Unable to delete version because the following aliases reference "
        .. "it: [" .. table.concat(using, ", ") .. "]")
    end
    fn.versions[qualifier] = nil
    if fn.version_code then fn.version_code[qualifier] = nil end
  else
    t.functions[name] = nil
    require("lambdaeng.localurls").stop_function(t, name)
    t.exec:drop(name)
  end
  t:save()
  t:collect()
  t:note("DeleteFunction %s", name)
  return ok(204)
end

local ROUTES = {
  ["/versions POST"] = publish_version, ["/versions GET"] = list_versions,
  ["/concurrency PUT"] = put_concurrency, ["/concurrency DELETE"] = delete_concurrency,
  ["/concurrency GET"] = get_concurrency,
  ["/code-signing-config GET"] = get_code_signing, ["/code-signing-config PUT"] = put_code_signing,
  ["/code-signing-config DELETE"] = delete_code_signing,
  [" DELETE"] = delete_function,
}

function M.route(rest, method) return ROUTES[rest .. " " .. method] end

-- Tags of the function named by a tags/ARN request: List (GET), Tag (POST), Untag (DELETE).
function M.tags(t, fn, req, query)
  if req.method == "GET" then return ok(200, { Tags = fn.tags }) end
  if req.method == "POST" then
    local input, s1, h1, b1 = input_of("TagResource", req.body)
    if not input then return s1, h1, b1 end
    for k, v in pairs(input.Tags) do fn.tags[k] = v end
    t:save()
    return ok(204)
  end
  if req.method == "DELETE" then
    local keys = query.tagKeys
    if type(keys) == "string" then keys = { keys } end
    for _, k in ipairs(keys or {}) do fn.tags[k] = nil end
    t:save()
    return ok(204)
  end
end

return M
