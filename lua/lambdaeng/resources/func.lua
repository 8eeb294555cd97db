-- lambda.func on the Lambda API: create, update, delete, read back (refresh,
-- import), following the reference document (seed 004) argument by argument and
-- the reference provider's order of calls. What each argument is on the wire lives
-- in func_doc.lua; this file makes the calls, waits, and records what the API
-- confirmed. Every operation is bounded as a whole by its `timeouts` entry.
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"
local loop = require "lambdaeng.native.loop"
local site = require "lambdaeng.site"
local doc = require "lambdaeng.resources.func_doc"
local secret_attrs = require "lambdaeng.secret_attrs"
local schema = require "lambdaeng.schema"
local deadline = require "lambdaeng.resources.deadline"
local lambda_call = require "lambdaeng.aws.lambda_call"
local shape = require "lambdaeng.aws.shape"

local M = {}

-- The code part: ZipFile (from the package built at plan time or `filename`), S3, or image.
local function code(decl, a)
  if a.image_uri then return { ImageUri = a.image_uri } end
  if a.s3_bucket then return { S3Bucket = a.s3_bucket, S3Key = a.s3_key, S3ObjectVersion = a.s3_object_version } end
  local pkg = decl.package
  if pkg and pkg.bytes then return { ZipFile = nhash.base64(pkg.bytes) } end
  if a.filename then
    local path = site.resolve_path(decl.site, a.filename)
    local bytes = require("lambdaeng.native.sys").read_file(path)
    if not bytes then return nil, "cannot read filename " .. path end
    return { ZipFile = nhash.base64(bytes) }
  end
  return nil, "no code source"
end

local function invoke_arn(region, arn)
  if type(arn) == "string" and type(region) == "string" then -- (one concatenation: no format to parse)
    return "arn:aws:apigateway:" .. region .. ":lambda:path/2015-03-31/functions/" .. arn .. "/invocations"
  end
  return arn and string.format("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, arn)
end

-- The function's unqualified ARN (a version's configuration carries its qualifier). The
-- part up to ":function:" is matched once per distinct text (a refresh reads a thousand ARNs
-- of one partition, region and account; the pattern cost ~4 k instructions an ARN).
local BASE_ARN = "^(arn:[^:]*:lambda:[^:]*:[^:]*:function:[^:]+)"
local seen_prefix, prefix_fits = nil, false -- the last prefix, and whether BASE_ARN's shape begins so
local function base_arn(arn)
  if type(arn) ~= "string" then return nil end
  local at = arn:find(":function:", 1, true)
  if at then
    -- (the last prefix found where it ends, not a copy of it made to compare)
    if not (seen_prefix and #seen_prefix == at + 9 and arn:find(seen_prefix, 1, true) == 1) then
      local prefix = arn:sub(1, at + 9)
      seen_prefix, prefix_fits = prefix, prefix:find("^arn:[^:]*:lambda:[^:]*:[^:]*:function:$") ~= nil
    end
    if prefix_fits then -- (then BASE_ARN's fields are these: the name ends at the next colon)
      local colon = arn:find(":", at + 10, true)
      if colon and colon > at + 10 then return arn:sub(1, colon - 1) end
      return arn -- (unqualified; or no name, which BASE_ARN does not match either)
    end
  end
  return arn:match(BASE_ARN) or arn
end
M.base_arn = base_arn

-- Attributes from a configuration ($LATEST's), the latest published version
-- ("$LATEST" when none), the function's tags and the nested computed values.
local function empty_if_null(x) if x == nil or x == json.null then return "" end return x end
local function attrs_from(cfg, region, version, tags_all, nested)
  local arn = base_arn(cfg.FunctionArn)
  version = version or "$LATEST"
  local qualified = arn and (arn .. ":" .. version)
  local attrs = {
    arn = arn, invoke_arn = invoke_arn(region, arn), qualified_arn = qualified,
    qualified_invoke_arn = invoke_arn(region, qualified),
    version = version, last_modified = cfg.LastModified, source_code_size = cfg.CodeSize,
    code_sha256 = cfg.CodeSha256, state = cfg.State ~= json.null and cfg.State or "Active",
    signing_job_arn = empty_if_null(cfg.SigningJobArn),
    signing_profile_version_arn = empty_if_null(cfg.SigningProfileVersionArn),
    tags_all = tags_all or {},
  }
  if nested then for k, v in next, nested do attrs[k] = v end end
  return attrs
end
M.attrs_from = attrs_from

-- Errors the reference tool retries within the resource's timeout: a role not yet
-- assumable, KMS/ENI propagation, and "an update is in progress".
local function retryable_for_resource(err)
  if err.type == "ResourceConflictException" and (err.message or ""):find("in progress") then return true end
  if err.type == "InvalidParameterValueException" then
    local m = err.message or ""
    return m:find("cannot be assumed") or m:find("role defined for the function") or m:find("KMS")
      or m:find("EC2") or m:find("execution role")
  end
  return false
end

local function with_resource_retries(ctx, api, fn)
  local delay = ctx.resource_retry_delay or 2
  while true do
    local out, err = fn()
    if out then return out end
    if not retryable_for_resource(err) or loop.now() + delay > api.deadline then return nil, err end
    ctx.log(string.format("retrying after %s: %s", err.type, err.message))
    loop.sleep(delay)
    delay = math.min(delay * 2, 20)
  end
end

local function explain(err)
  if err and err.type == "KMSAccessDeniedException" then
    err.message = err.message .. " — the function's role was probably recreated after the function; " ..
      "re-create the function with `lambdaeng run --replace ADDRESS`"
  end
  return err
end

local function tags_with_defaults(ctx, a)
  local tags = {}
  for k, v in pairs(ctx.default_tags or {}) do tags[k] = v end
  for k, v in pairs(a.tags or {}) do tags[k] = v end
  return tags
end
M.tags_with_defaults = tags_with_defaults

-- The latest published version ("$LATEST" when none), as the reference provider
-- reads it: the highest version ListVersionsByFunction lists.
local function latest_version(api, name)
  local list, err = api:list_versions_by_function(name)
  if not list then return nil, err end
  local best
  for _, v in ipairs(list.Versions or {}) do
    local n = tonumber(v.Version)
    if n and (not best or n > best) then best = n end
  end
  return best and tostring(math.tointeger(best) or best) or "$LATEST"
end

-- An API view whose calls all end by the operation's deadline.
local function bounded(ctx, seconds_left, what)
  return ctx.api:until_deadline(loop.now() + seconds_left, what)
end

-- Creates the function; returns the state record { args, attrs } or nil, err.
function M.create(ctx, decl, a)
  local api = bounded(ctx, deadline.seconds(schema.func, decl, "create"), "create")
  local c, cerr = code(decl, a)
  if not c then return nil, { type = "InvalidConfiguration", message = cerr } end
  local input = doc.create_input(a)
  input.FunctionName = a.function_name
  input.Code = c
  input.PackageType = a.package_type
  input.Publish = a.publish or nil -- false is the API's default (and what the reference leaves out)
  input.CodeSigningConfigArn = a.code_signing_config_arn
  local tags = tags_with_defaults(ctx, a)
  if next(tags) then input.Tags = tags end
  -- Write-ahead: the state knows a create was started before it is sent, so a run
  -- killed before the answer is recorded leaves no function that state forgot.
  local recorded = ctx.record(decl.address, { args = a, attrs = {}, pending = "create" })
  if not recorded then
    ctx.forget(decl.address)
    return nil, { type = "StateError", message = "not created: the state could not record the create before it" }
  end
  local cfg, err = with_resource_retries(ctx, api, function() return api:create_function(input) end)
  if not cfg and err and err.type == "ResourceConflictException" and ctx.adopt_on_conflict then
    -- An earlier run started this create and was cut off: the function is ours.
    local got = api:get_function(a.function_name)
    if got and got.Configuration then
      ctx.log("adopting the function an interrupted run created")
      cfg, err = got.Configuration, nil
    end
  end
  if not cfg then
    -- Forget the write-ahead record only when Lambda answered no; when the outcome is
    -- unknown (cancelled, timed out, connection lost) the next run finds out and adopts.
    if err and err.status and err.status < 500 then ctx.forget(decl.address) end
    return nil, explain(err)
  end
  -- The function exists from here on: record it at once, so a failure below cannot orphan it.
  ctx.record(decl.address, { args = a, attrs = attrs_from(cfg, ctx.region, nil, tags), partial = true })
  local active, werr = api:wait_active(a.function_name, nil, ctx.waiter_delay)
  if not active then return nil, werr end
  if a.reserved_concurrent_executions and a.reserved_concurrent_executions >= 0 then
    local _, perr = api:put_function_concurrency(a.function_name, a.reserved_concurrent_executions)
    if perr then return nil, perr end
  end
  local version = "$LATEST"
  if a.publish then
    local verr
    version, verr = latest_version(api, a.function_name)
    if not version then return nil, verr end
  end
  local _, nested = doc.from_api(active, {})
  return { args = a, attrs = attrs_from(active, ctx.region, version, tags, nested), tags_all = tags }
end

-- Tags first: the reference provider updates them before the function (its tagging
-- interceptor). Returns the tags the function has now, or nil, err.
local function update_tags(ctx, api, a, prior)
  local before = prior.args or {}
  local old_tags = (prior.attrs or {}).tags_all or prior.tags_all or before.tags or {}
  local new_tags = tags_with_defaults(ctx, a)
  local add, remove = {}, {}
  -- (state keeps a sensitive tag's value as a digest: compared through it)
  for k, v in pairs(new_tags) do if not secret_attrs.same(old_tags[k], v, ctx.digest) then add[k] = v end end
  for k in pairs(old_tags) do if new_tags[k] == nil then remove[#remove + 1] = k end end
  local arn = (prior.attrs or {}).arn
  if arn and #remove > 0 then
    table.sort(remove)
    local _, err = api:untag_resource(arn, remove)
    if err then return nil, err end
  end
  if arn and next(add) then
    local _, err = api:tag_resource(arn, add)
    if err then return nil, err end
  end
  return new_tags
end

-- An update call, once what an earlier run left settling is done (terraform#29604),
-- retried as the reference provider retries, then waited for.
local function update_and_wait(ctx, api, name, call)
  local out, err = with_resource_retries(ctx, api, function()
    local ready, werr = api:wait_updated(name, nil, ctx.waiter_delay)
    if not ready then return nil, werr end
    return call()
  end)
  if not out then return nil, explain(err) end
  return api:wait_updated(name, nil, ctx.waiter_delay)
end

-- The calls on the function itself: code signing, configuration, code, concurrency.
-- Returns the last configuration an update answered (nil when none ran), or nil, err.
local function update_function(ctx, api, decl, a, before, stored, calls)
  local name, cfg, err, _ = a.function_name, nil, nil, nil
  if calls.code_signing then
    if a.code_signing_config_arn and a.code_signing_config_arn ~= "" then
      _, err = api:put_function_code_signing_config(name, a.code_signing_config_arn)
    else
      _, err = api:delete_function_code_signing_config(name)
    end
    if err then return nil, err end
  end
  if calls.config then
    local input = doc.configuration_changes(before, stored or a)
    -- the body carries the real values (stored ones may be digests of sensitive values)
    local real = doc.configuration_changes({}, a)
    for k in pairs(input) do if real[k] ~= nil then input[k] = real[k] end end
    cfg, err = update_and_wait(ctx, api, name, function() return api:update_function_configuration(name, input) end)
    if not cfg then return nil, err end
  end
  if calls.code then
    local c, cerr = code(decl, a)
    if not c then return nil, { type = "InvalidConfiguration", message = cerr } end
    if not doc.same("architectures", before.architectures, a.architectures) and a.architectures then
      c.Architectures = json.array(table.move(a.architectures, 1, #a.architectures, 1, {}))
    end
    cfg, err = update_and_wait(ctx, api, name, function() return api:update_function_code(name, c) end)
    if not cfg then return nil, err end
  end
  if calls.concurrency then
    if (a.reserved_concurrent_executions or -1) >= 0 then
      _, err = api:put_function_concurrency(name, a.reserved_concurrent_executions)
    else
      _, err = api:delete_function_concurrency(name)
    end
    if err then return nil, err end
  end
  return cfg or false
end

-- Updates in place with the calls the change needs, in the reference provider's
-- order (tags, code signing, configuration, code, concurrency, publish), waiting
-- for each update to finish. `stored` is a as the state stores it (sensitive
-- values as digests), so a change is judged exactly as the plan judged it.
-- Records only what the API confirmed: on failure nothing.
function M.update(ctx, decl, a, prior, stored)
  local api = bounded(ctx, deadline.seconds(schema.func, decl, "update"), "update")
  local before = prior.args or {}
  local calls = doc.calls(before, stored or a)
  local new_tags, err = update_tags(ctx, api, a, prior)
  if not new_tags then return nil, err end
  local cfg
  cfg, err = update_function(ctx, api, decl, a, before, stored, calls)
  if cfg == nil then return nil, err end
  local attrs = {}
  for k, v in pairs(prior.attrs or {}) do attrs[k] = v end
  if calls.publish then
    local v, perr = with_resource_retries(ctx, api, function() return api:publish_version(a.function_name, {}) end)
    if not v then return nil, perr end
    attrs.version = v.Version
  end
  if cfg then
    local _, nested = doc.from_api(cfg, {})
    for k in pairs(doc.NESTED_ATTRS) do attrs[k] = nil end
    local fresh = attrs_from(cfg, ctx.region, attrs.version, new_tags, nested)
    for k, v in pairs(fresh) do attrs[k] = v end
  else
    attrs.version = attrs.version or "$LATEST"
    attrs.qualified_arn = attrs.arn and (attrs.arn .. ":" .. attrs.version)
    attrs.qualified_invoke_arn = invoke_arn(ctx.region, attrs.qualified_arn)
  end
  attrs.tags_all = new_tags
  return { args = a, attrs = attrs, tags_all = new_tags }
end

function M.delete(ctx, decl_or_nil, prior)
  local a = prior.args or {}
  if a.skip_destroy then
    ctx.log("skip_destroy is set: the function stays in Lambda and leaves the state")
    return true
  end
  local name = a.function_name or (prior.attrs and prior.attrs.arn)
  if not name then return true end
  local api = bounded(ctx, deadline.seconds(schema.func, decl_or_nil, "delete"), "delete")
  local _, err = with_resource_retries(ctx, api, function()
    local out, e = api:delete_function(name)
    if not out and e and e.type == "ResourceNotFoundException" then return true end
    return out, e
  end)
  if err then return nil, err end
  return true
end

-- GetFunction's answer as a read reads it: the members from_api and attrs_from never look at
-- are checked but not made (a refresh of 1,000 functions decodes 1,000 answers; in W3's
-- answers these were a fifth of the decoding).
local READ_SHAPE = shape.skipping(shape.OUTPUT.GetFunction, {
  { "Configuration", "Version" }, { "Configuration", "MasterArn" }, { "Configuration", "RevisionId" },
  { "Configuration", "StateReason" }, { "Configuration", "StateReasonCode" },
  { "Configuration", "LastUpdateStatus" }, { "Configuration", "LastUpdateStatusReason" },
  { "Configuration", "LastUpdateStatusReasonCode" }, { "Configuration", "ImageConfig" },
  { "Configuration", "RuntimeVersionConfig" }, { "Configuration", "LoggingConfig" },
  { "Code", "RepositoryType" }, { "Code", "Location" }, { "Code", "ResolvedImageUri" }, { "TagsError" },
})
local decode_fast = lambda_call.decode_fast
local function read_fast(text) return decode_fast(text, READ_SHAPE) end

-- GetFunction's options for a read: the answer decoded, checked and its nulls dropped in
-- one C pass (lambda_call.decode_fast, with READ_SHAPE; what api:get_function's cjson decode
-- and shape check give from_api, lua.func_read compares).
function M.read_options()
  return { class = "read", fast = read_fast, decode = lambda_call.decode_raw, checked = lambda_call.drop_nulls }
end

-- func.read's options: the answer read straight into from_api's values, and attrs_from's
-- for the version $LATEST in the region, when it is of the common kind (engine/funcanswer.c: a
-- projection, no table of the answer made; in W3's refresh the decode, from_api and attrs_from
-- were ~57 k instructions an answer), else read_fast's. One options table per region (json_call
-- only reads it; the query goes apart).
local func_answer = require("lambdaeng.native.json").func_answer
local PROJECTION = { __name = "lambdaeng.func_answer" }
M.PROJECTION = PROJECTION -- (for lua.func_answer)
function M.read_answer(text, spec, region)
  local p = func_answer(text, PROJECTION, doc.NO_NESTED, region)
  if p then return true, p end
  return read_fast(text, spec)
end
local NO_REGION = {} -- (the key of read_options_in for a context without a region)
local read_options_in = setmetatable({}, { __index = function(by_region, key)
  local opts, region = M.read_options(), key ~= NO_REGION and key or nil
  opts.fast = function(text, spec) return M.read_answer(text, spec, region) end
  by_region[key] = opts
  return opts
end })

-- A GetFunction answer as func.read takes it (the projection, or the decoded answer): from_api's
-- arguments and nested attributes, the configuration attrs_from reads (nil for a projection
-- with attributes), and the projection's attributes for $LATEST (nil: attrs_from makes them).
function M.answer_values(got)
  if getmetatable(got) == PROJECTION then return got.args, got.nested, got.cfg, got.attrs end
  local c = got.Configuration or {}
  local args, nested = doc.from_api(c, got)
  return args, nested, c, nil
end

-- The attributes and tags_all of answer_values' values for version. For another version than
-- $LATEST, attrs_from of a configuration made of the projection's attributes gives the same as
-- of the answer's (base_arn of a base ARN is itself; State and the signing ARNs are there with
-- attrs_from's defaults already).
function M.answer_attrs(args, nested, cfg, latest, region, version)
  if latest and version == "$LATEST" then return latest, latest.tags_all end
  cfg = cfg or { FunctionArn = latest.arn, LastModified = latest.last_modified, CodeSize = latest.source_code_size,
                 CodeSha256 = latest.code_sha256, State = latest.state, SigningJobArn = latest.signing_job_arn,
                 SigningProfileVersionArn = latest.signing_profile_version_arn }
  local tags = args.tags or {}
  return attrs_from(cfg, region, version, tags, nested), tags
end

-- Reads a function back as lambdaeng arguments (refresh and import).
-- opts.versions: find the latest published version (ListVersionsByFunction);
-- opts.code_signing: read the code-signing configuration.
-- Returns { args, attrs, tags }, or nil and the error (of type
-- ResourceNotFoundException when the function does not exist).
function M.read(ctx, name, opts)
  opts = opts or {}
  local api = ctx.api
  local req, rerr = lambda_call.request("GetFunction", { FunctionName = name })
  if not req then return nil, rerr end
  local region = ctx.region
  local got, err = api:json_call("GetFunction", req.method, req.path, nil, read_options_in[region or NO_REGION],
    req.query)
  if not got then return nil, err end
  local args, nested, c, latest_attrs = M.answer_values(got)
  local version = "$LATEST"
  if opts.versions then
    local verr
    version, verr = latest_version(api, name)
    if not version then return nil, verr end
  end
  if opts.code_signing then
    local csc, cerr = api:get_function_code_signing_config(name)
    if not csc then return nil, cerr end
    local arn = csc.CodeSigningConfigArn
    if arn ~= nil and arn ~= json.null and arn ~= "" then args.code_signing_config_arn = arn end
  end
  local attrs, tags = M.answer_attrs(args, nested, c, latest_attrs, region, version)
  return { args = args, attrs = attrs, tags = tags }
end

return M
