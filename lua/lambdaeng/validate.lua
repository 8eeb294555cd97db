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
local is_function_name = require("lambdaeng.native.vm").is_function_name
function M.function_name_problem(v, mode)
  if is_function_name(v) then return nil end -- (a plain name, in C: what every mode accepts)
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

local rules = require "lambdaeng.validate_rules" -- each kind's cross-argument rules

-- Whether every argument is known to the kind and passes its check and nothing required
-- is missing, without walking the schema (problems are reported by the ordered walk).
local problem = false -- (valid_quickly's finding: one function for every call, no closure each)
local function note() problem = true end
local strings_taken = schema_index.strings_taken
local taken_of = setmetatable({}, { __mode = "k" }) -- spec -> strings_taken(spec), read without a call
local function valid_quickly(kind, args)
  local specs = kind.args
  problem = false
  for k, v in pairs(args) do
    local spec = specs[k]
    if not spec then return false end
    local took = taken_of[spec] -- (strings only are taken, as true: [1], the count, is no value's)
    if not (took and took[v] == true) then
      if type(v) == "string" and not took then took = strings_taken(spec); taken_of[spec] = took end
      check_value(spec, v, k, note)
      if problem then return false end
      if took and type(v) == "string" and took[1] < 256 then took[v], took[1] = true, took[1] + 1 end
    end
  end
  local required = schema_index.required(specs)
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
