-- The shapes of the Lambda API responses lambdaeng reads, and their check.
--
-- Nothing the endpoint sends is trusted: before an operation's decoded response
-- reaches the engine, every field the engine reads is checked against the API
-- reference's type (string, integer, boolean, object, array, map of strings).
-- A wrong type, a missing required field or a response that is not a JSON
-- object is an error naming the operation and the field
-- (`GetFunction: Configuration.FunctionName is a number; expected a string`),
-- so a malformed answer can never turn into a plan. JSON null in an optional
-- field means the field is absent: it is removed, so no reader meets json.null.
-- Fields the engine does not read are left as they are.
local json = require "lambdaeng.json"

local M = {}

local STRING, INTEGER, BOOLEAN = { kind = "string" }, { kind = "integer" }, { kind = "boolean" }
local NUMBER = { kind = "number" }
local function object(fields, required) return { kind = "object", fields = fields, required = required or {} } end
local function array(item) return { kind = "array", item = item } end
local function map(value) return { kind = "map", value = value } end

local ERROR_DETAIL = object { ErrorCode = STRING, Message = STRING }

local FUNCTION_CONFIGURATION = object({
  FunctionName = STRING, FunctionArn = STRING, Runtime = STRING, Role = STRING, Handler = STRING,
  CodeSize = INTEGER, Description = STRING, Timeout = INTEGER, MemorySize = INTEGER, LastModified = STRING,
  CodeSha256 = STRING, Version = STRING, MasterArn = STRING, RevisionId = STRING, KMSKeyArn = STRING,
  VpcConfig = object { SubnetIds = array(STRING), SecurityGroupIds = array(STRING), VpcId = STRING,
                       Ipv6AllowedForDualStack = BOOLEAN },
  DeadLetterConfig = object { TargetArn = STRING },
  Environment = object { Variables = map(STRING), Error = ERROR_DETAIL },
  TracingConfig = object { Mode = STRING },
  Layers = array(object { Arn = STRING, CodeSize = INTEGER, SigningProfileVersionArn = STRING,
                          SigningJobArn = STRING }),
  State = STRING, StateReason = STRING, StateReasonCode = STRING,
  LastUpdateStatus = STRING, LastUpdateStatusReason = STRING, LastUpdateStatusReasonCode = STRING,
  FileSystemConfigs = array(object { Arn = STRING, LocalMountPath = STRING }),
  PackageType = STRING,
  ImageConfig = object { EntryPoint = array(STRING), Command = array(STRING), WorkingDirectory = STRING },
  ImageConfigResponse = object { Error = ERROR_DETAIL, ImageConfig = object {
    EntryPoint = array(STRING), Command = array(STRING), WorkingDirectory = STRING } },
  SigningProfileVersionArn = STRING, SigningJobArn = STRING,
  Architectures = array(STRING),
  EphemeralStorage = object { Size = INTEGER },
  SnapStart = object { ApplyOn = STRING, OptimizationStatus = STRING },
  RuntimeVersionConfig = object { RuntimeVersionArn = STRING, Error = ERROR_DETAIL },
  LoggingConfig = object { LogFormat = STRING, ApplicationLogLevel = STRING, SystemLogLevel = STRING,
                           LogGroup = STRING },
}, { "FunctionName", "FunctionArn" })

-- Each operation's response, as the engine reads it.
M.OUTPUT = {
  GetFunction = object({
    Configuration = FUNCTION_CONFIGURATION,
    Code = object { RepositoryType = STRING, Location = STRING, ImageUri = STRING, ResolvedImageUri = STRING },
    Tags = map(STRING), TagsError = ERROR_DETAIL,
    Concurrency = object { ReservedConcurrentExecutions = INTEGER },
  }, { "Configuration" }),
  GetFunctionConfiguration = FUNCTION_CONFIGURATION,
  CreateFunction = FUNCTION_CONFIGURATION,
  UpdateFunctionCode = FUNCTION_CONFIGURATION,
  UpdateFunctionConfiguration = FUNCTION_CONFIGURATION,
  PublishVersion = FUNCTION_CONFIGURATION,
  ListVersionsByFunction = object { Versions = array(FUNCTION_CONFIGURATION), NextMarker = STRING },
  ListTags = object { Tags = map(STRING) },
  PutFunctionConcurrency = object { ReservedConcurrentExecutions = INTEGER },
  GetFunctionCodeSigningConfig = object { CodeSigningConfigArn = STRING, FunctionName = STRING },
  PutFunctionCodeSigningConfig = object { CodeSigningConfigArn = STRING, FunctionName = STRING },
}

-- Layer versions (PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn).
local LAYER_VERSION = object({
  Content = object { Location = STRING, CodeSha256 = STRING, CodeSize = INTEGER, SigningProfileVersionArn = STRING,
                     SigningJobArn = STRING },
  LayerArn = STRING, LayerVersionArn = STRING, Description = STRING, CreatedDate = STRING, Version = INTEGER,
  CompatibleRuntimes = array(STRING), LicenseInfo = STRING, CompatibleArchitectures = array(STRING),
}, { "LayerVersionArn", "Version" })
M.OUTPUT.PublishLayerVersion = LAYER_VERSION
M.OUTPUT.GetLayerVersion = LAYER_VERSION
M.OUTPUT.GetLayerVersionByArn = LAYER_VERSION

-- Aliases (CreateAlias, GetAlias, UpdateAlias).
local ALIAS = object({
  AliasArn = STRING, Name = STRING, FunctionVersion = STRING, Description = STRING, RevisionId = STRING,
  RoutingConfig = object { AdditionalVersionWeights = map(NUMBER) },
}, { "AliasArn", "Name", "FunctionVersion" })
M.OUTPUT.CreateAlias = ALIAS
M.OUTPUT.GetAlias = ALIAS
M.OUTPUT.UpdateAlias = ALIAS
M.OUTPUT.ListAliases = object { Aliases = array(ALIAS), NextMarker = STRING }

-- The resource-based policy (a JSON document inside the JSON answer).
M.OUTPUT.AddPermission = object { Statement = STRING }
M.OUTPUT.GetPolicy = object({ Policy = STRING, RevisionId = STRING }, { "Policy" })

-- Function URLs.
local URL_CONFIG = object({
  FunctionUrl = STRING, FunctionArn = STRING, AuthType = STRING, CreationTime = STRING, LastModifiedTime = STRING,
  InvokeMode = STRING,
  Cors = object { AllowCredentials = BOOLEAN, AllowHeaders = array(STRING), AllowMethods = array(STRING),
                  AllowOrigins = array(STRING), ExposeHeaders = array(STRING), MaxAge = INTEGER },
}, { "FunctionUrl", "FunctionArn", "AuthType" })
M.OUTPUT.CreateFunctionUrlConfig = URL_CONFIG
M.OUTPUT.GetFunctionUrlConfig = URL_CONFIG
M.OUTPUT.UpdateFunctionUrlConfig = URL_CONFIG

-- Asynchronous invocation configuration.
local EVENT_INVOKE_CONFIG = object {
  FunctionArn = STRING, MaximumRetryAttempts = INTEGER, MaximumEventAgeInSeconds = INTEGER,
  LastModified = NUMBER, -- a timestamp: epoch seconds (unlike FunctionConfiguration's string)
  DestinationConfig = object { OnSuccess = object { Destination = STRING }, OnFailure = object { Destination = STRING } },
}
M.OUTPUT.PutFunctionEventInvokeConfig = EVENT_INVOKE_CONFIG
M.OUTPUT.GetFunctionEventInvokeConfig = EVENT_INVOKE_CONFIG

-- A float as its shortest text that reads back (as json.encode writes it).
local function shortest(x)
  for _, fmt in ipairs { "%.15g", "%.16g", "%.17g" } do
    local s = string.format(fmt, x)
    if tonumber(s) == x then return s end
  end
  return tostring(x)
end

-- What a float is: integral ones reach a check only past 64 bits (those within are read exactly).
local function describe_float(x)
  if x ~= x or x == math.huge or x == -math.huge then return "the number " .. tostring(x) end
  if x ~= math.floor(x) then return "the fractional number " .. shortest(x) end
  if x >= 2^63 or x < -2^63 then return "a number outside the 64-bit integer range (about " .. shortest(x) .. ")" end
  return "the integer " .. shortest(x) .. " read as a double"
end

local function describe(v)
  if v == json.null then return "null" end
  if math.type(v) == "float" then return describe_float(v) end
  local t = type(v)
  if t == "table" then return next(v) == nil and "empty" or (rawget(v, 1) ~= nil and "an array" or "an object") end
  if t == "number" then return "a number" end
  if t == "string" then return "a string" end
  if t == "boolean" then return "a boolean" end
  return t
end

local EXPECTED = { string = "a string", integer = "an integer", boolean = "a boolean", object = "an object",
                   array = "an array", map = "an object of strings", number = "a number" }

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local function is_object(t)
  for k in pairs(t) do if type(k) ~= "string" then return false end end
  return true
end

local check

-- Checks v against spec; returns nothing, or where the problem is (relative to v:
-- "", ".Name", "[2]", ...; built only on a problem) and what it is ("is X; expected Y").
function check(spec, v)
  local kind = spec.kind
  local ok
  if kind == "string" then ok = type(v) == "string"
  elseif kind == "integer" then ok = math.type(v) == "integer"
  elseif kind == "boolean" then ok = type(v) == "boolean"
  elseif kind == "number" then ok = type(v) == "number"
  elseif kind == "array" then ok = type(v) == "table" and is_array(v)
  else ok = type(v) == "table" and is_object(v) end
  if not ok then
    return "", string.format("is %s; expected %s", describe(v), EXPECTED[kind])
  end
  if kind == "array" then
    local item_spec = spec.item
    for i, item in ipairs(v) do
      local where, what = check(item_spec, item)
      if where then return string.format("[%d]", i - 1) .. where, what end
    end
  elseif kind == "map" then
    for k, item in pairs(v) do
      local where, what = check(spec.value, item)
      if where then
        local key = k:match("^[%w_%-%.:/@]+$") and ("." .. k) or string.format("[%q]", k):gsub("\\\n", "\\n")
        return key .. where, what
      end
    end
  elseif kind == "object" then
    for _, name in ipairs(spec.required) do
      if v[name] == nil or v[name] == json.null then
        return "." .. name, string.format("is %s; expected %s", v[name] == nil and "missing" or "null",
          EXPECTED[spec.fields[name].kind])
      end
    end
    for name, field in pairs(spec.fields) do
      local value = v[name]
      if value == json.null then
        v[name] = nil -- optional: null means absent
      elseif value ~= nil then
        local where, what = check(field, value)
        if where then return "." .. name .. where, what end
      end
    end
  end
end

local native_check = require("lambdaeng.native.shape").check

-- Checks (and cleans of nulls) an operation's decoded response. Returns the
-- response, or nil and an error { type = "InvalidResponse", message } that names
-- the operation and the field. Operations without a known shape pass as they are.
-- The walk is C's (engine/shape.c); a value it finds wrong is walked again here,
-- to name the problem (the C walk stops where this one would, having cleaned the
-- same nulls). in_lua: this walk alone, the reference lua.shape compares with.
local function validate(op, v, in_lua)
  local spec = M.OUTPUT[op]
  if not spec then return v end
  if type(v) ~= "table" or not is_object(v) then
    return nil, { type = "InvalidResponse",
                  message = string.format("%s: the response is %s; expected a JSON object", op, describe(v)) }
  end
  if not in_lua and native_check(spec, v, json.null) then return v end
  local where, what = check(spec, v)
  if where then
    local path = ("response" .. where):gsub("^response%.", "")
    return nil, { type = "InvalidResponse", message = op .. ": " .. path .. " " .. what }
  end
  return v
end

-- spec with the member at each path ({ "Configuration", "RevisionId" }: names from spec's
-- top, through objects) marked skip: the one-pass decoder (json decode_response) checks its
-- value as its kind says and makes nothing of it, for a reader that never looks at it. The
-- specs along the paths are copies; spec itself is not changed.
local function shallow(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end
local function skipping_one(spec, path, i)
  local copy = shallow(spec)
  copy.fields = shallow(spec.fields)
  local name = path[i]
  local field = assert(copy.fields[name], "no such member to skip: " .. table.concat(path, "."))
  if i == #path then
    field = shallow(field)
    field.skip = true
  else
    field = skipping_one(field, path, i + 1)
  end
  copy.fields[name] = field
  return copy
end
function M.skipping(spec, paths)
  for _, path in ipairs(paths) do spec = skipping_one(spec, path, 1) end
  return spec
end

function M.validate(op, v) return validate(op, v, false) end
function M.validate_in_lua(op, v) return validate(op, v, true) end

return M
