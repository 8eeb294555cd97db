-- Plan-time validation of declarations against schema.lua, before any API call.
--
-- check(schema, args, report) calls report(path, message) for every problem:
-- unknown argument names (with a "did you mean"), missing required arguments,
-- wrong types, enums, ranges, sizes, and each kind's cross-argument rules.
-- Values that are still unknown (references to computed attributes) are
-- checked when they become known, at apply time.
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local schema = require "lambdaeng.schema"
local storable = require "lambdaeng.storable"
local schema_index = require "lambdaeng.schema_index"

local M = {}
M.value_problem, M.output_problem = storable.value_problem, storable.output_problem
local UNKNOWN = ref.UNKNOWN

local function distance(a, b)
  local la, lb = #a, #b
  if math.abs(la - lb) > 3 then return 99 end
  local prev = {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    for j = 1, lb do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[lb]
end

-- The closest of names to word, if close enough to be a plausible typo.
function M.suggest(word, names)
  local best, best_d = nil, math.huge
  for _, n in ipairs(names) do
    local d = distance(word:lower(), n:lower())
    if d < best_d or (d == best_d and best and n < best) then best, best_d = n, d end
  end
  if best and best_d <= math.max(2, #word // 3) then return best end
  -- a prefix or suffix match ("memory" -> "memory_size")
  for _, n in ipairs(names) do
    if #word >= 4 and (n:find(word, 1, true) == 1 or n:sub(-#word) == word) then return n end
  end
  return nil
end

-- "; did you mean ADDR?" for an address the session does not declare (of kind, when
-- given, e.g. "func"; never except, the address that names it), or "" when none is close.
function M.address_hint(addr, session, kind, except)
  local names = {}
  for _, d in ipairs(session.decls) do
    if (not kind or d.kind.kind == kind) and d.address ~= except then names[#names + 1] = d.address end
  end
  local hint = M.suggest(addr, names)
  return hint and ("; did you mean " .. hint .. "?") or ""
end

-- The keys of t in order (by their text, so a table with keys of mixed types sorts too).
local sorted_keys = schema_index.sorted_keys
M.sorted_keys = sorted_keys
local schema_sorted = schema_index.keys

local function unknown_name(report, path, name, valid, what)
  local hint = M.suggest(name, valid)
  report(path, string.format("unknown %s %q%s", what, name,
    hint and string.format("; did you mean %q?", hint) or ""))
end
M.unknown_name = unknown_name

local join = storable.join

local function enum_text(enum)
  local parts = {}
  for i, e in ipairs(enum) do parts[i] = string.format("%q", e) end
  if #parts > 12 then return "one of " .. table.concat(parts, ", ", 1, 12) .. ", ..." end
  return "one of " .. table.concat(parts, ", ")
end

-- Lambda function names: 1..64 of [A-Za-z0-9_-], or an ARN (invoke also takes
-- a partial ARN and a ":qualifier" suffix).
function M.function_name_problem(v, mode)
  local name, qualifier = v, nil
  if v:sub(1, 4) == "arn:" then
    local n, q = v:match("^arn:aws[%w%-]*:lambda:[a-z][a-z]%-[a-z%-]+%-%d+:%d%d%d%d%d%d%d%d%d%d%d%d:function:([^:]+):?(.*)$")
    if not n then
      return "is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
    end
    name, qualifier = n, q ~= "" and q or nil
    if #v > (mode == "func" and 140 or 170) then
      return string.format("must be at most %d characters as an ARN (got %d)", mode == "func" and 140 or 170, #v)
    end
  elseif mode == "invoke" then
    local n = v:match("^%d%d%d%d%d%d%d%d%d%d%d%d:function:(.+)$") -- partial ARN
    if n then name = n end
    local base, q = name:match("^([^:]+):(.+)$")
    if base then name, qualifier = base, q end
  end
  if mode == "func" and qualifier then return "must not include a qualifier for a function resource" end
  if qualifier and not (qualifier == "$LATEST" or qualifier:match("^[%w_%-]+$")) then
    return string.format("has an invalid qualifier %q", qualifier)
  end
  if #name < 1 or #name > 64 then
    return string.format("must be 1 to 64 characters (got %d)", #name)
  end
  if not name:match("^[%w_%-]+$") then
    return string.format("%q may contain only letters, digits, hyphens and underscores", name)
  end
  return nil
end

local function is_duration(s)
  if s == "" then return false end
  local rest = s
  while rest ~= "" do
    local n, unit, tail = rest:match("^(%d+%.?%d*)([hms])(.*)$")
    if not n then return false end
    rest = tail
  end
  return true
end

function M.duration_seconds(s)
  local total = 0
  for n, unit in s:gmatch("(%d+%.?%d*)([hms])") do
    total = total + tonumber(n) * ({ h = 3600, m = 60, s = 1 })[unit]
  end
  return total
end

local function is_base64(s)
  return #s % 4 == 0 and s:match("^[A-Za-z0-9+/]*=?=?$") ~= nil
end

local check_value

-- The check of each type of value: check(spec, v, path, report), v not nil nor unknown.
local CHECKS = {}

function CHECKS.string(spec, v, path, report)
  if type(v) ~= "string" then return report(path, "must be a string, got " .. type(v)) end
  if not utf8.len(v) then
    local _, bad = utf8.len(v)
    return report(path, string.format("must be UTF-8 text (byte %d is not)", bad))
  end
  if spec.min and #v < spec.min then
    return report(path, string.format("must be at least %d characters (got %d)", spec.min, #v))
  end
  if spec.max and #v > spec.max then
    return report(path, string.format("must be at most %d characters (got %d)", spec.max, #v))
  end
  if spec.enum then
    if schema_index.enum_set(spec.enum)[v] then return end -- (one lookup, not a walk of ~30)
    local hint = M.suggest(v, spec.enum)
    return report(path, string.format("must be %s; got %q%s", enum_text(spec.enum), v,
      hint and string.format(" (did you mean %q?)", hint) or ""))
  end
  if spec.pattern and not v:match(spec.pattern) and v ~= spec.alt then
    return report(path, string.format("must be %s; got %q", spec.pattern_text or spec.pattern, v))
  end
  if spec.arn and v:sub(1, 4) ~= "arn:" then
    return report(path, string.format("must be an ARN (arn:...); got %q", v))
  end
  if spec.duration and not is_duration(v) then
    return report(path, string.format("must be a duration such as \"30s\", \"10m\" or \"1h\"; got %q", v))
  end
  if spec.function_name then
    local problem = M.function_name_problem(v, spec.function_name)
    if problem then return report(path, problem) end
  end
end

function CHECKS.integer(spec, v, path, report)
  if type(v) ~= "number" then return report(path, "must be a whole number, got " .. type(v)) end
  if not math.tointeger(v) then return report(path, "must be a whole number, got " .. tostring(v)) end
  if (spec.min and v < spec.min) or (spec.max and v > spec.max) then
    if spec.max then
      return report(path, string.format("must be between %d and %d (got %s)", spec.min, spec.max, v))
    end
    return report(path, string.format("must be at least %d (got %s)", spec.min, v))
  end
end

function CHECKS.number(spec, v, path, report)
  if type(v) ~= "number" then return report(path, "must be a number, got " .. type(v)) end
  if (spec.min and v < spec.min) or (spec.max and v > spec.max) then
    return report(path, string.format("must be between %s and %s (got %s)", spec.min, spec.max, v))
  end
end

function CHECKS.boolean(_, v, path, report)
  if type(v) ~= "boolean" then return report(path, "must be true or false, got " .. type(v)) end
end

function CHECKS.list(spec, v, path, report)
  if type(v) ~= "table" then return report(path, "must be a list, got " .. type(v)) end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then return report(path, "must be a list (keys 1..n), found key " .. tostring(k)) end
    n = n + 1
  end
  if n ~= #v then return report(path, "must be a list without holes") end
  if spec.min and n < spec.min then return report(path, string.format("must have at least %d item%s", spec.min, spec.min == 1 and "" or "s")) end
  if spec.max and n > spec.max then return report(path, string.format("must have at most %d items (got %d)", spec.max, n)) end
  for i = 1, n do check_value(spec.elem, v[i], join(path, i), report) end
end

function CHECKS.map(spec, v, path, report)
  if type(v) ~= "table" then return report(path, "must be a table of string keys, got " .. type(v)) end
  local n = 0
  for k, x in pairs(v) do
    if type(k) ~= "string" then return report(path, "keys must be strings, found " .. type(k) .. " key " .. tostring(k)) end
    n = n + 1
    check_value(spec.elem, x, join(path, k), report)
  end
  if spec.min and n < spec.min then return report(path, "must have at least one entry when set") end
  if spec.max and n > spec.max then
    return report(path, string.format("must have at most %d entr%s (got %d)", spec.max, spec.max == 1 and "y" or "ies", n))
  end
end

function CHECKS.block(spec, v, path, report)
  if type(v) ~= "table" then return report(path, "must be a table, got " .. type(v)) end
  M.check_fields(spec.fields, v, path, report, "argument")
end

-- A table's JSON text; nil after reporting it when it cannot be encoded.
local function json_text(v, path, report)
  local ok, encoded = pcall(json.encode_plain, v)
  if not ok then return report(path, "cannot be encoded as JSON: " .. tostring(encoded)) end
  return encoded
end

function CHECKS.json(spec, v, path, report)
  local text = v
  if type(v) == "table" then
    text = json_text(v, path, report)
    if not text then return end
  elseif type(v) ~= "string" then
    return report(path, "must be a JSON string or a table, got " .. type(v))
  else
    local ok, err = json.valid(v)
    if not ok then return report(path, "is not valid JSON: " .. err) end
  end
  if spec.limit and #text > spec.limit then
    return report(path, string.format("is %d bytes; the limit is %d bytes", #text, spec.limit))
  end
end

function CHECKS.client_context(_, v, path, report)
  local text = v
  if type(v) == "table" then
    local encoded = json_text(v, path, report)
    if not encoded then return end
    text = require("lambdaeng.native.hash").base64(encoded)
  elseif type(v) ~= "string" then
    return report(path, "must be a base64 string or a table, got " .. type(v))
  elseif not is_base64(v) then
    return report(path, "must be base64-encoded (or a table, which lambdaeng encodes)")
  end
  if #text > schema.CLIENT_CONTEXT_LIMIT then
    return report(path, string.format("is %d bytes base64-encoded; the limit is %d bytes", #text,
      schema.CLIENT_CONTEXT_LIMIT))
  end
end

CHECKS["function"] = function(_, v, path, report)
  if type(v) ~= "function" then return report(path, "must be a function, got " .. type(v)) end
end

-- Checks one value against its spec. v is already resolved (UNKNOWN where unknown).
function check_value(spec, v, path, report)
  if v == nil or v == UNKNOWN then return end
  local check = CHECKS[spec.type]
  if check then return check(spec, v, path, report) end
end
M.check_value = check_value

function M.check_fields(fields, v, path, report, what)
  local valid = schema_sorted(fields)
  for _, k in ipairs(sorted_keys(v)) do
    if type(k) ~= "string" then
      report(path, "keys must be names, found " .. type(k) .. " key " .. tostring(k))
    elseif not fields[k] then
      unknown_name(report, join(path, k), k, valid, what)
    end
  end
  for _, k in ipairs(valid) do
    local spec = fields[k]
    if v[k] == nil then
      if spec.required then report(join(path, k), "is required") end
    else
      check_value(spec, v[k], join(path, k), report)
    end
  end
end

-- Cross-argument rules of each kind (the reference documents' prose).
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
  for _, k in ipairs(keys) do
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

function rules.func(a, report)
  one_source(a, report, { "source", "filename", "image_uri", "s3_bucket" }, "code")
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
    if a.image_uri == nil and #sources > 0 then report("image_uri", "is required when package_type is Image") end
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
  one_source(a, report, { "source", "filename", "s3_bucket" }, "content")
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

-- Whether every argument is known to the kind and passes its check and nothing required
-- is missing, without walking the schema (problems are reported by the ordered walk).
local function valid_quickly(kind, args)
  local problem = false
  local function note() problem = true end
  for k, v in pairs(args) do
    local spec = kind.args[k]
    if not spec then return false end
    local took = type(v) == "string" and schema_index.strings_taken(spec)
    if not (took and took[v]) then
      check_value(spec, v, k, note)
      if problem then return false end
      if took and took[1] < 256 then took[v], took[1] = true, took[1] + 1 end
    end
  end
  local required = schema_index.required(kind.args)
  for i = 1, #required do if args[required[i]] == nil then return false end end
  return true
end

-- Validates the arguments of a declaration of kind (a schema.kinds entry).
-- args are the resolved arguments (UNKNOWN where not yet known); meta names
-- are the meta-arguments, validated separately by the declaring code.
function M.check(kind, args, report)
  if not valid_quickly(kind, args) then
    local valid = schema_sorted(kind.args)
    for _, k in ipairs(sorted_keys(args)) do
      if not kind.args[k] then unknown_name(report, k, k, valid, "argument") end
    end
    for _, k in ipairs(valid) do
      local spec = kind.args[k]
      if args[k] == nil then
        if spec.required then report(k, "is required") end
      else
        check_value(spec, args[k], k, report)
      end
    end
  end
  if rules[kind.kind] then rules[kind.kind](args, report) end
end

return M
