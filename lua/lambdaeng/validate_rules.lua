-- Cross-argument rules of each kind (the reference documents' prose), run by
-- validate.check after the arguments' own checks: rules[kind](args, report) calls
-- report(path, message) for each problem. args are resolved (UNKNOWN where not yet
-- known); a rule says nothing about what it cannot know yet.
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local schema = require "lambdaeng.schema"

local UNKNOWN = ref.UNKNOWN
local rules = {}

local ENV_RESERVED = {
  "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

-- Exactly one of the source keys set (what: "code", "content"), and s3_bucket with s3_key.
local function one_source(a, report, keys, what)
  local first, second -- the first two sources set (no table, no text unless one is reported)
  for i = 1, #keys do -- (a numeric loop: ipairs was a C call per key, every declaration)
    local k = keys[i]
    if a[k] == nil then elseif first == nil then first = k elseif second == nil then second = k end
  end
  if first == nil or second ~= nil then
    local names = table.concat(keys, ", ", 1, #keys - 1) .. " or " .. keys[#keys]
    if first == nil then report("", "needs exactly one " .. what .. " source: " .. names .. " (+ s3_key)")
    else report(second, "conflicts with " .. first .. ": exactly one of " .. names .. " may be set") end
  end
  if a.s3_bucket ~= nil and a.s3_key == nil then report("s3_key", "is required when s3_bucket is set") end
  if a.s3_key ~= nil and a.s3_bucket == nil then report("s3_bucket", "is required when s3_key is set") end
end

local FUNC_SOURCES, LAYER_SOURCES = { "source", "filename", "image_uri", "s3_bucket" }, { "source", "filename", "s3_bucket" }

function rules.func(a, report)
  one_source(a, report, FUNC_SOURCES, "code")
  if a.s3_object_version ~= nil and a.s3_bucket == nil then
    report("s3_object_version", "requires s3_bucket and s3_key (it conflicts with filename and image_uri)")
  end
  local package_type = a.package_type
  if package_type == UNKNOWN then package_type = nil end
  if package_type == nil or package_type == "Zip" then
    if a.image_uri ~= nil then report("image_uri", "requires package_type = \"Image\"") end
    if a.handler == nil then report("handler", "is required when package_type is Zip") end
    if a.runtime == nil then report("runtime", "is required when package_type is Zip") end
    if a.image_config ~= nil then report("image_config", "applies only to package_type = \"Image\"") end
  elseif package_type == "Image" then
    -- (with no code source at all, one_source said so already)
    if a.image_uri == nil and (a.source ~= nil or a.filename ~= nil or a.s3_bucket ~= nil) then
      report("image_uri", "is required when package_type is Image")
    end
    for _, k in ipairs { "handler", "runtime", "layers" } do
      if a[k] ~= nil then report(k, "cannot be set when package_type is Image (the image defines it)") end
    end
  end
  if a.source_code_hash ~= nil and a.filename == nil and a.s3_bucket == nil then
    report("source_code_hash", "applies only to filename or s3_key packages (source is hashed by lambdaeng)")
  end
  if a.replacement_security_group_ids ~= nil and a.replace_security_groups_on_destroy ~= true then
    report("replacement_security_group_ids", "requires replace_security_groups_on_destroy = true")
  end
  local vars = type(a.environment) == "table" and a.environment.variables
  if type(vars) == "table" then
    local size = 0
    for k, v in pairs(vars) do
      if type(k) == "string" then
        -- Lambda's pattern [a-zA-Z]([a-zA-Z0-9_])+: at least two characters
        if not k:match("^[%a][%w_]+$") then
          report("environment.variables." .. k,
            "is not a valid variable name (a letter, then at least one letter, digit or _)")
        end
        for _, r in ipairs(ENV_RESERVED) do
          if k == r then report("environment.variables." .. k, "is reserved by Lambda and cannot be set") end
        end
        if type(v) == "string" then size = size + #k + #v end
      end
    end
    if size > 4096 then
      report("environment.variables", string.format("total %d bytes; Lambda allows 4 KB of environment variables", size))
    end
  end
end

-- One code source for a layer: source, filename, or s3_bucket + s3_key.
function rules.layer_version(a, report)
  one_source(a, report, LAYER_SOURCES, "content")
  if a.s3_object_version ~= nil and a.s3_bucket == nil then report("s3_object_version", "requires s3_bucket and s3_key") end
  if a.source_code_hash ~= nil and a.filename == nil and a.s3_bucket == nil then
    report("source_code_hash", "applies only to filename or s3_key content (source is hashed by lambdaeng)")
  end
end

-- An alias routes to at most one additional version, never the one it points to.
function rules.alias(a, report)
  if type(a.name) == "string" and a.name:match("^%d+$") then
    report("name", "must be letters, digits, - and _, not only digits (a number names a version)")
  end
  local rc = type(a.routing_config) == "table" and a.routing_config or nil
  local weights = rc and type(rc.additional_version_weights) == "table" and rc.additional_version_weights or nil
  for version in pairs(weights or {}) do
    if type(version) == "string" and not version:match("^%d+$") then
      report("routing_config.additional_version_weights." .. version, "must name a published version (a number)")
    elseif version == a.function_version then
      report("routing_config.additional_version_weights." .. version,
        "is the version the alias points to (function_version); name another version")
    end
  end
  if type(a.function_version) == "string" and a.function_version ~= "$LATEST"
      and not a.function_version:match("^%d+$") then
    report("function_version", string.format("must be a version number or \"$LATEST\"; got %q", a.function_version))
  end
  if weights and next(weights) and a.function_version == "$LATEST" then
    report("routing_config", "routes only between published versions; function_version is $LATEST")
  end
end

function rules.permission(a, report)
  if a.statement_id ~= nil and a.statement_id_prefix ~= nil then
    report("statement_id_prefix", "conflicts with statement_id: set one of them")
  end
end

function rules.invocation(a, report)
  if a.lifecycle_scope == "CRUD" and a.input ~= nil and a.input ~= UNKNOWN then
    local decoded = a.input
    if type(a.input) == "string" then
      local ok, v = pcall(json.decode_plain, a.input)
      decoded = ok and v or nil
    end
    if decoded ~= nil then
      local is_object = type(decoded) == "table" and (next(decoded) == nil or #decoded == 0)
      if not is_object then
        report("input", "must be a JSON object when lifecycle_scope = \"CRUD\" (the lifecycle key is added to it)")
      else
        local key = a.terraform_key or "tf"
        if key ~= UNKNOWN and decoded[key] ~= nil then
          report("input", string.format("already has the key %q that CRUD adds; choose another terraform_key", key))
        end
      end
    end
  end
end

local function payload_limit(a, report)
  local itype = a.invocation_type or "RequestResponse"
  if itype == UNKNOWN or a.payload == nil or a.payload == UNKNOWN then return end
  local text = a.payload
  if type(text) == "table" then
    local ok, encoded = pcall(json.encode_plain, text)
    if not ok then return end
    text = encoded
  end
  if type(text) ~= "string" then return end
  local limit = schema.PAYLOAD_LIMIT[itype]
  if limit and #text > limit then
    report("payload", string.format("is %d bytes; the limit for %s invocations is %d bytes", #text, itype, limit))
  end
end

function rules.action(a, report)
  payload_limit(a, report)
  local itype = a.invocation_type or "RequestResponse"
  if a.log_type == "Tail" and itype ~= "RequestResponse" and itype ~= UNKNOWN then
    report("log_type", "Tail applies only to RequestResponse invocations (invocation_type is " .. itype .. ")")
  end
end

function rules.ephemeral_invocation(a, report)
  payload_limit(a, report)
end

return rules
