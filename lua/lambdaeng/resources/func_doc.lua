-- The function configuration document of lambda.func: how each argument of the
-- reference (seed 004) maps onto the Lambda API, both ways.
--
-- create_input(a)            the configuration part of CreateFunction
-- configuration_changes(b,a) the UpdateFunctionConfiguration body for a change from b
--                            to a: only what changed, and an explicit reset for each
--                            setting removed from the stack (the API keeps a setting
--                            that is merely left out)
-- calls(b, a)                which API calls a change needs (plan and apply agree on it)
-- changing_attrs(b, a)       the computed attributes those calls can change
-- from_api(cfg, doc)         a GetFunction answer as arguments and attributes
-- same(key, x, y)            equality up to what Lambda treats as the same setting:
--                            an API default equals its absence, sets ignore order
local json = require "lambdaeng.json"
local ref = require "lambdaeng.ref"
local new_table = require("lambdaeng.native.vm").new

local M = {}
local UNKNOWN = ref.UNKNOWN

local function nonempty(t) return type(t) == "table" and next(t) ~= nil end
local function opaque(v) return v == UNKNOWN or (type(v) == "table" and v.sensitive_digest ~= nil) end

local function sorted_copy(list)
  local out = {}
  for i, x in ipairs(list or {}) do out[i] = x end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

local function copy_list(list)
  local out = list and new_table(#list, 0) or {} -- (filled without a rehash)
  for i, x in ipairs(list or {}) do out[i] = x end
  return out
end

-- The canonical form of a block of one field: nil when absent or at the API's default.
local function one_field(field, default)
  return function(v)
    if type(v) ~= "table" or v[field] == nil or v[field] == default then return nil end
    return { [field] = v[field] }
  end
end

-- Canonical forms: nil for "the API's default, as if unset".
local CANON = {
  description = function(v) if v == "" then return nil end return v end,
  kms_key_arn = function(v) if v == "" then return nil end return v end,
  code_signing_config_arn = function(v) if v == "" then return nil end return v end,
  environment = function(v)
    if type(v) ~= "table" then return v end
    if opaque(v.variables) then return v end
    if not nonempty(v.variables) then return nil end
    return { variables = v.variables }
  end,
  layers = function(v) if type(v) == "table" and not nonempty(v) then return nil end return v end,
  tags = function(v) if type(v) == "table" and not nonempty(v) then return nil end return v end,
  ephemeral_storage = one_field("size", 512),
  tracing_config = one_field("mode", "PassThrough"),
  snap_start = one_field("apply_on", "None"),
  dead_letter_config = one_field("target_arn", ""),
  file_system_config = function(v)
    if type(v) ~= "table" or v.arn == nil then return nil end
    return { arn = v.arn, local_mount_path = v.local_mount_path }
  end,
  -- subnet and security group ids are sets; an empty configuration is no configuration
  vpc_config = function(v)
    if type(v) ~= "table" then return nil end
    local subnets = opaque(v.subnet_ids) and v.subnet_ids or sorted_copy(v.subnet_ids)
    local groups = opaque(v.security_group_ids) and v.security_group_ids or sorted_copy(v.security_group_ids)
    local ipv6 = v.ipv6_allowed_for_dual_stack == true
    if not nonempty(subnets) and not nonempty(groups) and not ipv6 then return nil end
    return { subnet_ids = subnets, security_group_ids = groups, ipv6_allowed_for_dual_stack = ipv6 }
  end,
  image_config = function(v)
    if type(v) ~= "table" then return nil end
    local out = { command = nonempty(v.command) and v.command or nil,
                  entry_point = nonempty(v.entry_point) and v.entry_point or nil,
                  working_directory = v.working_directory ~= "" and v.working_directory or nil }
    if next(out) == nil then return nil end
    return out
  end,
  architectures = function(v)
    if type(v) == "table" and #v == 1 and v[1] == "x86_64" then return nil end
    if type(v) == "table" and not nonempty(v) then return nil end
    return v
  end,
  reserved_concurrent_executions = function(v) if v == nil then return -1 end return v end,
  publish = function(v) return v == true end,
  skip_destroy = function(v) return v == true end,
}

local function deep_equal(a, b)
  if a == b then return true end
  if a == UNKNOWN or b == UNKNOWN then return false end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

function M.canonical(key, v)
  if v == UNKNOWN then return v end
  if type(v) == "table" and v.sensitive_digest ~= nil then return v end
  local f = CANON[key]
  if f then return f(v) end
  return v
end

function M.same(key, x, y)
  if x == y then return true end -- the common case (a no-op plan, a refresh): no canonical forms to build
  return deep_equal(M.canonical(key, x), M.canonical(key, y))
end

-- The arguments as Lambda keeps them: a KMS key only encrypts environment variables,
-- so without variables the API does not save it (seed 004) and it is no difference.
function M.effective(args)
  if args and args.kms_key_arn ~= nil and M.canonical("environment", args.environment) == nil then
    local out = {}
    for k, v in pairs(args) do out[k] = v end
    out.kms_key_arn = nil
    return out
  end
  return args
end

-- Arguments the provider treats as Optional + Computed: left out of the stack, the
-- function keeps what it has ("Removing this attribute, function's architecture stay
-- the same", seed 004).
M.KEEP_WHEN_ABSENT = { architectures = true }

local function vpc_input(v)
  return { SubnetIds = json.array(copy_list(v.subnet_ids)), SecurityGroupIds = json.array(copy_list(v.security_group_ids)),
           Ipv6AllowedForDualStack = v.ipv6_allowed_for_dual_stack == true }
end

local function image_input(v)
  return { Command = v.command and json.array(copy_list(v.command)) or nil,
           EntryPoint = v.entry_point and json.array(copy_list(v.entry_point)) or nil,
           WorkingDirectory = v.working_directory }
end

-- The configuration part of CreateFunction: what the stack sets, nothing else.
function M.create_input(a)
  local c = {
    Role = a.role, Handler = a.handler, Runtime = a.runtime, Description = a.description,
    Timeout = a.timeout, MemorySize = a.memory_size, KMSKeyArn = a.kms_key_arn,
    Layers = nonempty(a.layers) and json.array(copy_list(a.layers)) or nil,
  }
  if a.environment and nonempty(a.environment.variables) then c.Environment = { Variables = a.environment.variables } end
  if M.canonical("vpc_config", a.vpc_config) then c.VpcConfig = vpc_input(a.vpc_config) end
  if a.dead_letter_config then c.DeadLetterConfig = { TargetArn = a.dead_letter_config.target_arn } end
  if a.tracing_config then c.TracingConfig = { Mode = a.tracing_config.mode } end
  if a.file_system_config then
    c.FileSystemConfigs = json.array { { Arn = a.file_system_config.arn,
                                         LocalMountPath = a.file_system_config.local_mount_path } }
  end
  if a.image_config then c.ImageConfig = image_input(a.image_config) end
  if a.ephemeral_storage then c.EphemeralStorage = { Size = a.ephemeral_storage.size } end
  if a.snap_start then c.SnapStart = { ApplyOn = a.snap_start.apply_on } end
  if a.architectures then c.Architectures = json.array(copy_list(a.architectures)) end
  return c
end

-- Each configuration argument: its part of UpdateFunctionConfiguration for a new
-- value v (nil: removed from the stack, so the setting goes back to Lambda's default).
local CONFIG = {
  role = function(v) return "Role", v end,
  handler = function(v) return "Handler", v end,
  runtime = function(v) return "Runtime", v end,
  timeout = function(v) return "Timeout", v or 3 end,
  memory_size = function(v) return "MemorySize", v or 128 end,
  description = function(v) return "Description", v or "" end,
  kms_key_arn = function(v) return "KMSKeyArn", v or "" end,
  layers = function(v) return "Layers", json.array(copy_list(v)) end,
  environment = function(v)
    return "Environment", { Variables = (v and nonempty(v.variables)) and v.variables or {} }
  end,
  vpc_config = function(v)
    return "VpcConfig", vpc_input(M.canonical("vpc_config", v) and v or {})
  end,
  dead_letter_config = function(v) return "DeadLetterConfig", { TargetArn = v and v.target_arn or "" } end,
  tracing_config = function(v) return "TracingConfig", { Mode = v and v.mode or "PassThrough" } end,
  file_system_config = function(v)
    if not v then return "FileSystemConfigs", json.array {} end
    return "FileSystemConfigs", json.array { { Arn = v.arn, LocalMountPath = v.local_mount_path } }
  end,
  image_config = function(v) return "ImageConfig", v and image_input(v) or {} end,
  ephemeral_storage = function(v) return "EphemeralStorage", { Size = v and v.size or 512 } end,
  snap_start = function(v) return "SnapStart", { ApplyOn = v and v.apply_on or "None" } end,
}
M.CONFIG_ARGS = {}
for k in pairs(CONFIG) do M.CONFIG_ARGS[k] = true end

M.CODE_ARGS = { source = true, filename = true, source_code_hash = true, s3_bucket = true, s3_key = true,
                s3_object_version = true, image_uri = true, architectures = true }

local function changed(before, after, keys)
  for k in pairs(keys) do
    if not M.same(k, before[k], after[k]) then return true end
  end
  return false
end

-- The UpdateFunctionConfiguration body for the change before -> after, or nil.
function M.configuration_changes(before, after)
  before, after = M.effective(before), M.effective(after)
  local input, any = {}, false
  local keys = {}
  for k in pairs(CONFIG) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not M.same(k, before[k], after[k]) then
      local field, value = CONFIG[k](M.canonical(k, after[k]) ~= nil and after[k] or nil)
      input[field] = value
      any = true
    end
  end
  -- A new KMS key re-encrypts the variables: they go with it, unchanged (as the reference provider
  -- sends them), so the key never applies to a request without the variables it encrypts.
  if input.KMSKeyArn ~= nil and input.Environment == nil then
    input.Environment = select(2, CONFIG.environment(after.environment))
  end
  return any and input or nil
end

-- Which calls the change before -> after needs, in the order they are made.
function M.calls(before, after)
  before, after = M.effective(before), M.effective(after)
  local c = {
    code_signing = not M.same("code_signing_config_arn", before.code_signing_config_arn,
                              after.code_signing_config_arn),
    config = changed(before, after, M.CONFIG_ARGS),
    code = changed(before, after, M.CODE_ARGS),
    concurrency = not M.same("reserved_concurrent_executions", before.reserved_concurrent_executions,
                             after.reserved_concurrent_executions),
    tags = not M.same("tags", before.tags, after.tags),
  }
  c.publish = after.publish == true and (c.config or c.code or before.publish ~= true)
  return c
end

-- The computed attributes the calls of a change can give a new value
-- (top-level names, and "block.field" for the nested ones).
function M.changing_attrs(before, after)
  local c = M.calls(before, after)
  local out = {}
  if c.config or c.code then out.last_modified = true end
  if c.code then
    out.code_sha256, out.source_code_size = true, true
    out.signing_job_arn, out.signing_profile_version_arn = true, true
  end
  if c.publish then out.version, out.qualified_arn, out.qualified_invoke_arn = true, true, true end
  if not M.same("vpc_config", before.vpc_config, after.vpc_config) then out["vpc_config.vpc_id"] = true end
  if not M.same("snap_start", before.snap_start, after.snap_start) then out["snap_start.optimization_status"] = true end
  return out
end

-- Attributes known at plan time: tags_all (the provider's default_tags under the stack's tags).
-- A function without tags of its own gets the one answer made for its default_tags
-- (shared by every such function of a plan; read, never changed).
local untagged = setmetatable({}, { __mode = "k" }) -- default_tags (or this table) -> answer
function M.known_attrs(args, default_tags)
  if args.tags == UNKNOWN or opaque(args.tags) then return nil end
  if args.tags == nil then
    local key = default_tags or untagged
    local shared = untagged[key]
    if not shared then
      shared = M.known_attrs({ tags = {} }, default_tags)
      untagged[key] = shared
    end
    return shared
  end
  for _, v in pairs(args.tags) do if v == UNKNOWN then return nil end end
  local all = {}
  for k, v in pairs(default_tags or {}) do all[k] = v end
  for k, v in pairs(args.tags or {}) do all[k] = v end
  return { tags_all = all }
end

-- Computed fields inside argument blocks (seed 004: vpc_config.vpc_id,
-- snap_start.optimization_status): kept in attrs under the block's name.
M.NESTED_ATTRS = require("lambdaeng.schema").func.nested_computed

local NULL = json.null
local function v(x) if x == NULL then return nil end return x end

-- x, unless null or the API's default (CANON's rule, applied where the value is read).
local function unless(x, default) if x == nil or x == NULL or x == default then return nil end return x end

-- from_api's nested attributes when there are none: one table for every such answer (its
-- callers only read it).
local NO_NESTED = {}
M.NO_NESTED = NO_NESTED -- (engine/funcanswer.c gives it too)

-- A GetFunction answer (its Configuration cfg and the whole document doc) as
-- lambdaeng arguments and the nested computed attributes; settings at the API's
-- default are left out, as a stack that does not mention them. Each value is made
-- in its canonical form (M.canonical's) where it is read: a refresh reads every
-- stored function this way, and a generic canonical pass over the result cost it
-- a quarter of its Lua time.
function M.from_api(cfg, doc)
  doc = doc or {}
  local package_type, archs = cfg.PackageType, cfg.Architectures
  if package_type == nil or package_type == NULL then package_type = "Zip" end
  if nonempty(archs) and #archs == 1 and archs[1] == "x86_64" then archs = nil end -- the default
  -- (nulls and defaults tested inline, not through v and unless: every refreshed function comes here)
  local name, role, handler, runtime = cfg.FunctionName, cfg.Role, cfg.Handler, cfg.Runtime
  local description, timeout, memory, kms = cfg.Description, cfg.Timeout, cfg.MemorySize, cfg.KMSKeyArn
  if name == NULL then name = nil end
  if role == NULL then role = nil end
  if handler == NULL then handler = nil end
  if runtime == NULL then runtime = nil end
  if description == NULL or description == "" then description = nil end
  if timeout == NULL then timeout = nil end
  if memory == NULL then memory = nil end
  if kms == NULL or kms == "" then kms = nil end
  local args = {
    function_name = name, role = role, handler = handler, runtime = runtime,
    description = description, timeout = timeout, memory_size = memory,
    package_type = package_type, kms_key_arn = kms,
    architectures = nonempty(archs) and copy_list(archs) or nil,
  }
  local nested = nil -- (made for a VPC or SnapStart: most functions have neither, and get NO_NESTED)
  local env = cfg.Environment
  if type(env) == "table" and nonempty(env.Variables) then args.environment = { variables = env.Variables } end
  local layers = cfg.Layers
  if nonempty(layers) then
    args.layers = {}
    for i, l in ipairs(layers) do args.layers[i] = type(l) == "table" and l.Arn or l end
  end
  local eph = cfg.EphemeralStorage
  if type(eph) == "table" and eph.Size and eph.Size ~= 512 then args.ephemeral_storage = { size = eph.Size } end
  local tracing = cfg.TracingConfig
  if type(tracing) == "table" and tracing.Mode and tracing.Mode ~= "PassThrough" then
    args.tracing_config = { mode = tracing.Mode }
  end
  local vpc = cfg.VpcConfig
  if type(vpc) == "table" then
    args.vpc_config = M.canonical("vpc_config", { subnet_ids = copy_list(v(vpc.SubnetIds)),
      security_group_ids = copy_list(v(vpc.SecurityGroupIds)),
      ipv6_allowed_for_dual_stack = v(vpc.Ipv6AllowedForDualStack) == true })
    if args.vpc_config then nested = { vpc_config = { vpc_id = v(vpc.VpcId) or "" } } end
  end
  local dlq = cfg.DeadLetterConfig
  if type(dlq) == "table" and unless(dlq.TargetArn, "") then args.dead_letter_config = { target_arn = dlq.TargetArn } end
  local fs = cfg.FileSystemConfigs
  if type(fs) == "table" and type(fs[1]) == "table" and fs[1].Arn ~= nil then
    args.file_system_config = { arn = fs[1].Arn, local_mount_path = fs[1].LocalMountPath }
  end
  local snap = cfg.SnapStart
  if type(snap) == "table" and snap.ApplyOn then
    if snap.ApplyOn ~= "None" then
      args.snap_start = { apply_on = snap.ApplyOn }
      nested = nested or {}
      nested.snap_start = { optimization_status = v(snap.OptimizationStatus) or "Off" }
    end
  end
  local image = cfg.ImageConfigResponse
  if type(image) == "table" and type(image.ImageConfig) == "table" then
    local ic = image.ImageConfig
    args.image_config = M.canonical("image_config", { command = v(ic.Command), entry_point = v(ic.EntryPoint),
      working_directory = v(ic.WorkingDirectory) })
  end
  local code = doc.Code
  if type(code) == "table" and v(code.ImageUri) then args.image_uri = code.ImageUri end
  local tags = doc.Tags
  if nonempty(tags) then args.tags = tags end
  local conc = doc.Concurrency
  args.reserved_concurrent_executions = type(conc) == "table" and v(conc.ReservedConcurrentExecutions) or -1
  return args, nested or NO_NESTED
end

return M
