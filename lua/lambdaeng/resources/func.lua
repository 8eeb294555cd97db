-- lambda.func on the Lambda API: create, update, delete, read back (refresh,
-- import), following the reference document (seed 004) argument by argument.
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"
local loop = require "lambdaeng.native.loop"
local site = require "lambdaeng.site"
local validate = require "lambdaeng.validate"

local M = {}

local function nonempty_table(t) return type(t) == "table" and next(t) ~= nil end

-- The configuration part of CreateFunction / UpdateFunctionConfiguration.
local function configuration(a)
  local c = {
    Role = a.role, Handler = a.handler, Runtime = a.runtime, Description = a.description,
    Timeout = a.timeout, MemorySize = a.memory_size, KMSKeyArn = a.kms_key_arn,
    Layers = a.layers and json.array(a.layers) or nil,
  }
  if a.environment then
    c.Environment = { Variables = nonempty_table(a.environment.variables) and a.environment.variables or {} }
  end
  if a.vpc_config then
    c.VpcConfig = { SubnetIds = json.array(a.vpc_config.subnet_ids or {}),
                    SecurityGroupIds = json.array(a.vpc_config.security_group_ids or {}),
                    Ipv6AllowedForDualStack = a.vpc_config.ipv6_allowed_for_dual_stack }
  end
  if a.dead_letter_config then c.DeadLetterConfig = { TargetArn = a.dead_letter_config.target_arn } end
  if a.tracing_config then c.TracingConfig = { Mode = a.tracing_config.mode } end
  if a.file_system_config then
    c.FileSystemConfigs = json.array { { Arn = a.file_system_config.arn,
                                         LocalMountPath = a.file_system_config.local_mount_path } }
  end
  if a.image_config then
    c.ImageConfig = { Command = a.image_config.command and json.array(a.image_config.command),
                      EntryPoint = a.image_config.entry_point and json.array(a.image_config.entry_point),
                      WorkingDirectory = a.image_config.working_directory }
  end
  if a.ephemeral_storage then c.EphemeralStorage = { Size = a.ephemeral_storage.size } end
  if a.snap_start then c.SnapStart = { ApplyOn = a.snap_start.apply_on } end
  return c
end

-- The code part: ZipFile (from the package built at plan time or `filename`), S3, or image.
local function code(decl, a)
  if a.image_uri then return { ImageUri = a.image_uri } end
  if a.s3_bucket then return { S3Bucket = a.s3_bucket, S3Key = a.s3_key, S3ObjectVersion = a.s3_object_version } end
  local pkg = decl.package
  if pkg and pkg.bytes then return { ZipFile = nhash.base64(pkg.bytes) } end
  if a.filename then
    local path = site.resolve_path(decl.site, a.filename)
    local f = io.open(path, "rb")
    if not f then return nil, "cannot read filename " .. path end
    local bytes = f:read("a")
    f:close()
    return { ZipFile = nhash.base64(bytes) }
  end
  return nil, "no code source"
end

local CODE_ARGS = { source = true, filename = true, source_code_hash = true, s3_bucket = true, s3_key = true,
                    s3_object_version = true, image_uri = true, architectures = true }
local CONFIG_ARGS = { role = true, handler = true, runtime = true, description = true, timeout = true,
                      memory_size = true, kms_key_arn = true, layers = true, environment = true,
                      vpc_config = true, dead_letter_config = true, tracing_config = true,
                      file_system_config = true, image_config = true, ephemeral_storage = true,
                      snap_start = true }

local function attrs_from(cfg, region)
  local arn = cfg.FunctionArn
  local qualified = arn and cfg.Version and cfg.Version ~= "$LATEST" and (arn .. ":" .. cfg.Version) or arn
  local function invoke_arn(a)
    return a and string.format("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, a)
  end
  return {
    arn = arn, invoke_arn = invoke_arn(arn), qualified_arn = qualified, qualified_invoke_arn = invoke_arn(qualified),
    version = cfg.Version, last_modified = cfg.LastModified, source_code_size = cfg.CodeSize,
    code_sha256 = cfg.CodeSha256, state = cfg.State or "Active",
    signing_job_arn = cfg.SigningJobArn ~= json.null and cfg.SigningJobArn or nil,
    signing_profile_version_arn = cfg.SigningProfileVersionArn ~= json.null and cfg.SigningProfileVersionArn or nil,
  }
end
M.attrs_from = attrs_from

local function seconds(duration, default)
  return duration and validate.duration_seconds(duration) or validate.duration_seconds(default)
end

local function timeouts(decl)
  local t = type(decl.meta.timeouts) == "table" and decl.meta.timeouts or {}
  return { create = seconds(t.create, "10m"), update = seconds(t.update, "10m"), delete = seconds(t.delete, "10m") }
end

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

local function with_resource_retries(ctx, deadline, fn)
  local delay = ctx.resource_retry_delay or 2
  while true do
    local out, err = fn()
    if out then return out end
    if not retryable_for_resource(err) or loop.now() + delay > deadline then return nil, err end
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

-- Creates the function; returns the state record { args, attrs } or nil, err.
function M.create(ctx, decl, a)
  local api = ctx.api
  local t = timeouts(decl)
  local deadline = loop.now() + t.create
  local c, cerr = code(decl, a)
  if not c then return nil, { type = "InvalidConfiguration", message = cerr } end
  local input = configuration(a)
  input.FunctionName = a.function_name
  input.Code = c
  input.PackageType = a.package_type
  input.Publish = a.publish
  input.Architectures = a.architectures and json.array(a.architectures) or nil
  input.CodeSigningConfigArn = a.code_signing_config_arn
  local tags = tags_with_defaults(ctx, a)
  if next(tags) then input.Tags = tags end
  -- Write-ahead: the state knows a create was started before it is sent, so a run
  -- killed before the answer is recorded leaves no function that state forgot.
  ctx.record(decl.address, { args = a, attrs = {}, pending = "create" })
  local cfg, err = with_resource_retries(ctx, deadline, function() return api:create_function(input) end)
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
  ctx.record(decl.address, { args = a, attrs = attrs_from(cfg, ctx.region), partial = true })
  local active, werr = api:wait_active(a.function_name, deadline - loop.now(), ctx.waiter_delay, t.create)
  if not active then return nil, werr end
  cfg = active
  if a.reserved_concurrent_executions and a.reserved_concurrent_executions >= 0 then
    local _, perr = api:put_function_concurrency(a.function_name, a.reserved_concurrent_executions)
    if perr then return nil, perr end
  end
  return { args = a, attrs = attrs_from(cfg, ctx.region), tags_all = tags }
end

local function changed(before, after, keys)
  local plan = require "lambdaeng.plan"
  for k in pairs(keys) do
    if not plan.equal(before[k], after[k]) then return true end
  end
  return false
end

-- Updates in place; records only what the API confirmed: on failure nothing.
function M.update(ctx, decl, a, prior)
  local api = ctx.api
  local t = timeouts(decl)
  local deadline = loop.now() + t.update
  local before = prior.args or {}
  local name = a.function_name
  local cfg
  -- One update call (retried as the reference tool retries), then the wait for it to finish.
  local function update_and_wait(call)
    local out, err = with_resource_retries(ctx, deadline, call)
    if not out then return nil, explain(err) end
    return api:wait_updated(name, deadline - loop.now(), ctx.waiter_delay, t.update)
  end
  if changed(before, a, CODE_ARGS) then
    local c, cerr = code(decl, a)
    if not c then return nil, { type = "InvalidConfiguration", message = cerr } end
    c.Architectures = a.architectures and json.array(a.architectures) or nil
    local done, err = update_and_wait(function() return api:update_function_code(name, c) end)
    if not done then return nil, err end
    cfg = done
  end
  if changed(before, a, CONFIG_ARGS) then
    local input = configuration(a)
    -- An argument removed from the stack goes back to Lambda's default.
    if before.environment and not a.environment then input.Environment = { Variables = {} } end
    if before.layers and not a.layers then input.Layers = json.array {} end
    if before.description and not a.description then input.Description = "" end
    local done, err = update_and_wait(function()
      -- Code and configuration changing together: wait out the code update (terraform#29604).
      local ready, werr = api:wait_updated(name, deadline - loop.now(), ctx.waiter_delay, t.update)
      if not ready then return nil, werr end
      return api:update_function_configuration(name, input)
    end)
    if not done then return nil, err end
    cfg = done
  end
  if a.publish and cfg then
    local v, perr = api:publish_version(name, {})
    if not v then return nil, perr end
    cfg = v
  end
  if (before.reserved_concurrent_executions or -1) ~= (a.reserved_concurrent_executions or -1) then
    local _, err
    if (a.reserved_concurrent_executions or -1) >= 0 then
      _, err = api:put_function_concurrency(name, a.reserved_concurrent_executions)
    else
      _, err = api:delete_function_concurrency(name)
    end
    if err then return nil, err end
  end
  local arn = prior.attrs and prior.attrs.arn
  local old_tags = prior.tags_all or before.tags or {}
  local new_tags = tags_with_defaults(ctx, a)
  local add, remove = {}, {}
  for k, v in pairs(new_tags) do if old_tags[k] ~= v then add[k] = v end end
  for k in pairs(old_tags) do if new_tags[k] == nil then remove[#remove + 1] = k end end
  if arn and next(add) then
    local _, err = api:tag_resource(arn, add)
    if err then return nil, err end
  end
  if arn and #remove > 0 then
    table.sort(remove)
    local _, err = api:untag_resource(arn, remove)
    if err then return nil, err end
  end
  if not cfg then
    local got, gerr = api:get_function_configuration(name)
    if not got then return nil, gerr end
    cfg = got
  end
  return { args = a, attrs = attrs_from(cfg, ctx.region), tags_all = new_tags }
end

function M.delete(ctx, decl_or_nil, prior)
  local a = prior.args or {}
  if a.skip_destroy then
    ctx.log("skip_destroy is set: the function stays in Lambda and leaves the state")
    return true
  end
  local name = a.function_name or (prior.attrs and prior.attrs.arn)
  if not name then return true end
  local t = decl_or_nil and timeouts(decl_or_nil) or { delete = 600 }
  local deadline = loop.now() + t.delete
  local _, err = with_resource_retries(ctx, deadline, function()
    local out, e = ctx.api:delete_function(name)
    if not out and e and e.type == "ResourceNotFoundException" then return true end
    return out, e
  end)
  if err then return nil, err end
  return true
end

-- Reads a function back as lambdaeng arguments (refresh and import).
-- Returns args, attrs, tags; or nil when it does not exist; or nil, err.
function M.read(ctx, name)
  local got, err = ctx.api:get_function(name)
  if not got then
    if err and err.type == "ResourceNotFoundException" then return nil end
    return nil, err
  end
  local c = got.Configuration or {}
  local function v(x) if x == json.null then return nil end return x end
  local args = {
    function_name = v(c.FunctionName), role = v(c.Role), handler = v(c.Handler), runtime = v(c.Runtime),
    description = v(c.Description), timeout = v(c.Timeout), memory_size = v(c.MemorySize),
    package_type = v(c.PackageType) or "Zip", kms_key_arn = v(c.KMSKeyArn),
    architectures = v(c.Architectures),
  }
  if args.description == "" then args.description = nil end
  local env = v(c.Environment)
  if type(env) == "table" and nonempty_table(v(env.Variables)) then args.environment = { variables = env.Variables } end
  local layers = v(c.Layers)
  if nonempty_table(layers) then
    args.layers = {}
    for i, l in ipairs(layers) do args.layers[i] = type(l) == "table" and l.Arn or l end
  end
  local eph = v(c.EphemeralStorage)
  if type(eph) == "table" and eph.Size then args.ephemeral_storage = { size = eph.Size } end
  local tracing = v(c.TracingConfig)
  if type(tracing) == "table" and tracing.Mode and tracing.Mode ~= "PassThrough" then
    args.tracing_config = { mode = tracing.Mode }
  end
  local tags = v(got.Tags)
  if nonempty_table(tags) then args.tags = tags end
  local conc = v(got.Concurrency)
  args.reserved_concurrent_executions = type(conc) == "table" and v(conc.ReservedConcurrentExecutions) or -1
  return args, attrs_from(c, ctx.region), tags or {}
end

return M
