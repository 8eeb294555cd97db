-- The local target's input shapes: every member of the request bodies it accepts,
-- typed and bounded as the Lambda API model (2015-03-31) declares them, plus the
-- limits Lambda enforces beyond the model (Timeout <= 900, MemorySize <= 10240,
-- 4 KB of environment variables, 5 layers). check(operation, body) decodes a
-- request body and returns the input table (JSON nulls dropped, integral floats made
-- integers), or nil, error type, message naming the field, as Lambda words them:
-- "1 validation error detected: Value 'abc' at 'timeout' failed to satisfy
-- constraint: Member must be an integer". Members the model does not know are
-- ignored, as the service does. tests/integration/test_local_limits.py compares
-- these shapes with botocore's copy of the model.
local json = require "lambdaeng.json"
local errors = require "lambdaeng.errors"

local M = {}

-- Shape constructors: kind and bounds (min/max are lengths for strings and lists,
-- values for integers), enum (a set), pattern (a Lua pattern, anchored).
local function str(min, max, extra)
  local s = { kind = "string", min = min, max = max }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end
local function int(min, max) return { kind = "integer", min = min, max = max } end
local BOOL = { kind = "boolean" }
local BLOB = { kind = "blob" }
local function list(member, min, max) return { kind = "list", member = member, min = min, max = max } end
local function map(key, value) return { kind = "map", key = key, value = value } end
local function struct(members, required) return { kind = "structure", members = members, required = required } end
local function enum(...)
  local set = {}
  for _, v in ipairs { ... } do set[v] = true end
  return set
end

local STRING = str()
local ARN = str(nil, nil, { pattern = "^arn:" })
local OPTIONAL_ARN = str(nil, nil, { pattern = "^arn:", empty_ok = true })
local FUNCTION_NAME = str(1, 140, { pattern = "^[%w%-_:%.%$]+$" })
local SHAPES = {}

SHAPES.VpcConfig = struct { SubnetIds = list(STRING, 0, 16), SecurityGroupIds = list(STRING, 0, 5),
                            Ipv6AllowedForDualStack = BOOL }
SHAPES.DeadLetterConfig = struct { TargetArn = OPTIONAL_ARN }
SHAPES.Environment = struct { Variables = map(str(nil, nil, { pattern = "^%a[%w_]+$" }), STRING) }
SHAPES.TracingConfig = struct { Mode = str(nil, nil, { enum = enum("Active", "PassThrough") }) }
SHAPES.FileSystemConfig = struct({ Arn = str(0, 256), LocalMountPath = str(0, 160, { pattern = "^/mnt/[%w%-_%.]+$" }) },
  { "Arn", "LocalMountPath" })
SHAPES.ImageConfig = struct { EntryPoint = list(STRING, 0, 1500), Command = list(STRING, 0, 1500),
                              WorkingDirectory = str(0, 1000) }
SHAPES.EphemeralStorage = struct({ Size = int(512, 10240) }, { "Size" })
SHAPES.SnapStart = struct { ApplyOn = str(nil, nil, { enum = enum("PublishedVersions", "None") }) }
SHAPES.LoggingConfig = struct {
  LogFormat = str(nil, nil, { enum = enum("JSON", "Text") }),
  ApplicationLogLevel = str(nil, nil, { enum = enum("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL") }),
  SystemLogLevel = str(nil, nil, { enum = enum("DEBUG", "INFO", "WARN") }),
  LogGroup = str(1, 512, { pattern = "^[%.%-_/#%w]+$" }),
}
SHAPES.FunctionCode = struct { ZipFile = BLOB, S3Bucket = str(3, 63), S3Key = str(1, 1024), S3ObjectVersion = str(1, 1024),
                               ImageUri = STRING, SourceKMSKeyArn = OPTIONAL_ARN }
SHAPES.CapacityProviderConfig = struct({ LambdaManagedInstancesCapacityProviderConfig = struct({
  CapacityProviderArn = str(1, 140), PerExecutionEnvironmentMaxConcurrency = int(1, 1600),
  ExecutionEnvironmentMemoryGiBPerVCpu = { kind = "double", min = 2.0, max = 8.0 } }, { "CapacityProviderArn" }) },
  { "LambdaManagedInstancesCapacityProviderConfig" })
SHAPES.DurableConfig = struct { RetentionPeriodInDays = int(1, 90), ExecutionTimeout = int(1, 31622400) }
SHAPES.TenancyConfig = struct({ TenantIsolationMode = str(nil, nil, { enum = enum("PER_TENANT") }) },
  { "TenantIsolationMode" })

-- What CreateFunction and UpdateFunctionConfiguration share. Timeout and MemorySize
-- carry Lambda's own limits (the model says only min 1, max 32768).
local function configuration(extra, required)
  local members = {
    Role = str(nil, nil, { pattern = "^arn:[%w%-]*:iam::%d+:role/" }), Handler = str(0, 128, { pattern = "^%S+$" }),
    Runtime = str(1, 64), Description = str(0, 256), Timeout = int(1, 900), MemorySize = int(128, 10240),
    VpcConfig = SHAPES.VpcConfig, Environment = SHAPES.Environment, DeadLetterConfig = SHAPES.DeadLetterConfig,
    KMSKeyArn = OPTIONAL_ARN, TracingConfig = SHAPES.TracingConfig, Layers = list(str(1, 140), 0, 5),
    FileSystemConfigs = list(SHAPES.FileSystemConfig, 0, 1), ImageConfig = SHAPES.ImageConfig,
    EphemeralStorage = SHAPES.EphemeralStorage, SnapStart = SHAPES.SnapStart, LoggingConfig = SHAPES.LoggingConfig,
    CapacityProviderConfig = SHAPES.CapacityProviderConfig, DurableConfig = SHAPES.DurableConfig,
  }
  for k, v in pairs(extra) do members[k] = v end
  return struct(members, required)
end

M.OPERATIONS = {
  CreateFunction = configuration({
    FunctionName = FUNCTION_NAME, Code = SHAPES.FunctionCode, Publish = BOOL,
    PackageType = str(nil, nil, { enum = enum("Zip", "Image") }), Tags = map(STRING, STRING),
    CodeSigningConfigArn = str(0, 200), Architectures = list(str(nil, nil, { enum = enum("x86_64", "arm64") }), 1, 1),
    PublishTo = str(nil, nil, { enum = enum("LATEST_PUBLISHED") }), TenancyConfig = SHAPES.TenancyConfig,
  }, { "FunctionName", "Role", "Code" }),
  UpdateFunctionConfiguration = configuration({ RevisionId = STRING }, {}),
  UpdateFunctionCode = struct {
    ZipFile = BLOB, S3Bucket = str(3, 63), S3Key = str(1, 1024), S3ObjectVersion = str(1, 1024), ImageUri = STRING,
    Publish = BOOL, DryRun = BOOL, RevisionId = STRING,
    Architectures = list(str(nil, nil, { enum = enum("x86_64", "arm64") }), 1, 1), SourceKMSKeyArn = OPTIONAL_ARN,
    PublishTo = str(nil, nil, { enum = enum("LATEST_PUBLISHED") }),
  },
  PublishVersion = struct { CodeSha256 = STRING, Description = str(0, 256), RevisionId = STRING,
                            PublishTo = str(nil, nil, { enum = enum("LATEST_PUBLISHED") }) },
  PutFunctionConcurrency = struct({ ReservedConcurrentExecutions = int(0, nil) }, { "ReservedConcurrentExecutions" }),
  TagResource = struct({ Tags = map(STRING, STRING) }, { "Tags" }),
  PutFunctionCodeSigningConfig = struct({ CodeSigningConfigArn = str(0, 200, {
    pattern = "^arn:[%w%-]*:lambda:[%w%-]+:%d+:code%-signing%-config:csc%-%w+$" }) },
    { "CodeSigningConfigArn" }),
}
M.SHAPES = SHAPES

local function lower_camel(name) return (name:gsub("^%u", string.lower)) end

local function show(v)
  if type(v) == "string" then return v end
  if type(v) == "table" then return "[object]" end
  return tostring(v)
end

local function violation(path, value, constraint)
  return nil, "ValidationException", string.format("1 validation error detected: Value '%s' at '%s' failed to "
    .. "satisfy constraint: Member must %s", show(value), path, constraint)
end

local function is_list(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" then return false end
    n = n + 1
  end
  return n == #t
end

local check

local function check_structure(shape, value, path)
  if type(value) ~= "table" or (next(value) ~= nil and is_list(value)) then
    return violation(path, value, "be an object")
  end
  for name, v in pairs(value) do
    if v == json.null then value[name] = nil end
  end
  for _, name in ipairs(shape.required or {}) do
    if value[name] == nil then return violation((path ~= "" and path .. "." or "") .. lower_camel(name), "null", "not be null") end
  end
  for name, member in pairs(shape.members) do
    if value[name] ~= nil then
      local fixed, kind, message = check(member, value[name], (path ~= "" and path .. "." or "") .. lower_camel(name))
      if fixed == nil then return nil, kind, message end
      value[name] = fixed
    end
  end
  return value
end

local function check_string(shape, value, path)
  if type(value) ~= "string" then return violation(path, value, "be a string") end
  if shape.min and #value < shape.min then
    return violation(path, value, "have length greater than or equal to " .. shape.min)
  end
  if shape.max and #value > shape.max then
    return violation(path, value:sub(1, 64), "have length less than or equal to " .. shape.max)
  end
  if shape.enum and not shape.enum[value] then return violation(path, value, "satisfy enum value set") end
  if shape.pattern and not (shape.empty_ok and value == "") and not value:match(shape.pattern) then
    return violation(path, value:sub(1, 64), "satisfy regular expression pattern")
  end
  return value
end

local function check_number(shape, value, path)
  if type(value) ~= "number" or value ~= value then return violation(path, value, "be a number") end
  if shape.kind == "integer" then
    local i = math.tointeger(value)
    if not i then return violation(path, value, "be an integer") end
    value = i
  end
  if shape.min and value < shape.min then
    return violation(path, value, "have value greater than or equal to " .. shape.min)
  end
  if shape.max and value > shape.max then
    return violation(path, value, "have value less than or equal to " .. shape.max)
  end
  return value
end

-- The value checked against shape (with integral floats as integers), or nil, kind, message.
function check(shape, value, path)
  local kind = shape.kind
  if kind == "structure" then return check_structure(shape, value, path) end
  if kind == "string" then return check_string(shape, value, path) end
  if kind == "integer" or kind == "double" then return check_number(shape, value, path) end
  if kind == "boolean" then
    if type(value) ~= "boolean" then return violation(path, value, "be a boolean") end
    return value
  end
  if kind == "blob" then
    if type(value) ~= "string" then return violation(path, value, "be a base64-encoded string") end
    return value
  end
  if kind == "list" then
    if type(value) ~= "table" or not is_list(value) then return violation(path, value, "be a list") end
    if shape.min and #value < shape.min then return violation(path, value, "have length greater than or equal to " .. shape.min) end
    if shape.max and #value > shape.max then return violation(path, value, "have length less than or equal to " .. shape.max) end
    for i, v in ipairs(value) do
      local fixed, k, m = check(shape.member, v, path .. "." .. i)
      if fixed == nil then return nil, k, m end
      value[i] = fixed
    end
    return json.array(value)
  end
  if kind == "map" then
    if type(value) ~= "table" or (next(value) ~= nil and is_list(value)) then return violation(path, value, "be an object") end
    for k, v in pairs(value) do
      if type(k) ~= "string" then return violation(path, k, "have string keys") end
      local fk, kk, km = check(shape.key, k, path .. ".key")
      if fk == nil then return nil, kk, km end
      local fv, vk, vm = check(shape.value, v, path .. "." .. k)
      if fv == nil then return nil, vk, vm end
      value[k] = fv
    end
    return value
  end
  error("unknown shape kind " .. tostring(kind))
end

-- Lambda's limit on environment variables: 4 KB of keys and values together.
local function environment_size(input)
  local vars = input.Environment and input.Environment.Variables
  if not vars then return true end
  local size = 0
  for k, v in pairs(vars) do size = size + #k + #v end
  if size > 4096 then
    return nil, "InvalidParameterValueException", string.format("Lambda was unable to configure your environment "
      .. "variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d",
      size)
  end
  return true
end

local has_long_digits = require("lambdaeng.native.json").has_long_digits

-- A request body's JSON value with its integers within 64 bits exact (what is stored, echoed
-- and named in a message is the value sent), or nil and, for an integer past 64 bits (which
-- would be read as a rounded double), a message naming it as written.
function M.decode_body(body)
  if has_long_digits(body) then -- (a run of 16 digits: only then can a double round one)
    local _, why, kind = json.decode_exact(body)
    if kind == "number" then return nil, "the number " .. why:match("^the %a+ (.-%))") .. " does not fit 64 bits" end
  end
  local okd, input = pcall(json.decode_stack, body)
  if okd then return input end
end

-- Decodes and checks the body of operation: the input table, or nil and an error
-- { type, message } (the API's answer, a 400).
function M.check(operation, body)
  local shape = M.OPERATIONS[operation]
  if body == nil or body == "" then body = "{}" end
  local input, why = M.decode_body(body)
  if type(input) ~= "table" then
    return nil, errors.new("InvalidRequestContentException", "Could not parse request body into json: "
      .. (why or ("the body of " .. operation .. " must be a JSON object")))
  end
  local fixed, kind, message = check(shape, input, "")
  if fixed == nil then return nil, errors.new(kind, message) end
  local oke, ekind, emessage = environment_size(fixed)
  if not oke then return nil, errors.new(ekind, emessage) end
  return fixed
end

return M
