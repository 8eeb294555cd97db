-- Values in the forms of Terraform's JSON output (`terraform show -json`): the
-- known part of a value, and the marks that mirror its shape with `true` where a
-- part is unknown (after_unknown) or sensitive (before_sensitive, after_sensitive).
-- A sensitive part is never written: it is left out, and marked.
--
--   known(v, marks)          v without its unknown, withheld or marked parts (a
--                            list keeps its length: null where a part is left out)
--   unknown_marks(v)         true | table of marks | nil (nothing unknown)
--   sensitive_marks(decl_v)  the marks of a declared argument (references to
--                            sensitive values, as `ref` knows them) | nil
--   masked(v, marks, shown)  v with its marked parts replaced by shown (text plans)
--   stored_marks(v, whole)   marks of a stored value: true when whole, or where
--                            state keeps only a keyed digest
--   arg_marks(decl, k, value) sensitive_marks of argument k, a set's in its sorted order (value)
--   fill_list(marks, v)      a list's marks with false for unmarked elements
--   plain_table(v)           v is a table of data (no metatable, or json.array's)
--   type_of(v)               Terraform's type of a known value ("string", "number",
--                            "bool", ["tuple", [...]], ["object", {...}]) | nil
--   as_spec(spec, v)         v, or [] for an empty table where the schema says a list
--                            (storable.as_spec)
--   output(value, sensitive) an output of a values representation: { sensitive,
--                            value, type } (no value nor type when sensitive or unknown)
--   object(address, kind, name, values, sensitive, mode)
--                            a resource of a values representation (planned_values,
--                            prior_state, state show)
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local schema = require "lambdaeng.schema"
local storable = require "lambdaeng.storable"

local M = {}
local UNKNOWN, WITHHELD = ref.UNKNOWN, ref.WITHHELD
M.PROVIDER = "lambdaeng"

local function is_digest(v) return type(v) == "table" and v.sensitive_digest ~= nil end
M.is_digest = is_digest

-- A table as JSON sees it: plain, or marked by json.array (an empty array read back from
-- state is json.array {}); other metatables are references, UNKNOWN and the like.
local ARRAY_MT = getmetatable(json.array())
local function plain(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  return mt == nil or mt == ARRAY_MT
end
M.plain_table = plain

local function is_list(v)
  if not plain(v) then return false end
  local n = #v
  if n == 0 then return getmetatable(v) == ARRAY_MT and next(v) == nil end -- json.array {}: []
  for k in pairs(v) do if math.type(k) ~= "integer" or k < 1 or k > n then return false end end
  return true
end

function M.fill_list(marks, v)
  if type(marks) == "table" and is_list(v) then
    for i = 1, #v do if marks[i] == nil then marks[i] = false end end
    return json.array(marks)
  end
  return marks
end

function M.known(v, marks)
  if marks == true or v == UNKNOWN or v == WITHHELD or is_digest(v) then return nil end
  if not plain(v) then return v end
  local out, list = {}, is_list(v)
  for k, x in pairs(v) do
    local kept = M.known(x, type(marks) == "table" and marks[k] or nil)
    if kept == nil and list then kept = json.null end
    out[k] = kept
  end
  if list then return json.array(out) end
  return out
end

-- true where marked(leaf) holds, a table of marks (lists filled) above them, nil elsewhere.
local function leaf_marks(v, marked)
  if marked(v) then return true end
  if not plain(v) then return nil end
  local out
  for k, x in pairs(v) do
    local m = leaf_marks(x, marked)
    if m then out = out or {}; out[k] = m end
  end
  return M.fill_list(out, v)
end

local function is_unknown(v) return v == UNKNOWN end
local function is_stored_secret(v) return v == WITHHELD or is_digest(v) end

function M.unknown_marks(v) return leaf_marks(v, is_unknown) end

function M.sensitive_marks(declared)
  if type(declared) ~= "table" then return nil end
  if not ref.inspect(declared).sensitive then return nil end
  if not plain(declared) then -- a reference, or a value made from one (json.array is data: marked per element)
    local keys = ref.is_ref(declared) and ref.fields(declared).sensitive_keys -- (fn.tags_all: some tags)
    if not keys then return true end
    local marks = {}
    for k in pairs(keys) do marks[k] = true end
    return marks
  end
  local out = {}
  for k, x in pairs(declared) do out[k] = M.sensitive_marks(x) end
  return M.fill_list(out, declared)
end

-- The marks of a set's elements once sorted (stackargs.lua sorts a set, its declared
-- positions then no longer its elements' places): the declared clear strings matched in
-- sorted, the other elements (the sensitive ones' values) marked; marked whole when a clear
-- element is not a plain string (its value unknown here); marks as they are when sorted is
-- not a list of strings (not sorted: a value not yet known).
local function set_marks(declared, marks, sorted)
  if type(marks) ~= "table" or type(declared) ~= "table" or type(sorted) ~= "table" then return marks end
  for i = 1, #sorted do if type(sorted[i]) ~= "string" then return marks end end
  local clear = {}
  for i = 1, #declared do
    local x = declared[i]
    if not marks[i] then
      if type(x) ~= "string" then return true end
      clear[x] = (clear[x] or 0) + 1
    end
  end
  local out = {}
  for j = 1, #sorted do
    local x = sorted[j]
    if (clear[x] or 0) > 0 then clear[x], out[j] = clear[x] - 1, false else out[j] = true end
  end
  return json.array(out)
end

-- The marks of argument k of declaration decl whose resolved value is value: sensitive_marks
-- of the declared value, a set's (a block's set field's) in its sorted order.
function M.arg_marks(decl, k, value)
  local declared = decl.args[k]
  local marks = M.sensitive_marks(declared)
  local spec = decl.kind and decl.kind.args[k]
  if type(marks) ~= "table" or not spec then return marks end
  if spec.set then return set_marks(declared, marks, value) end
  if spec.type ~= "block" or type(value) ~= "table" or type(declared) ~= "table" then return marks end
  local out
  for name, field in pairs(spec.fields) do
    if field.set and type(marks[name]) == "table" then
      if not out then
        out = {}
        for key, x in pairs(marks) do out[key] = x end
      end
      out[name] = set_marks(declared[name], marks[name], value[name])
    end
  end
  return out or marks
end

-- v with each part marks says is sensitive replaced by shown (a copy; v itself when no part
-- is marked): the text plan shows a sensitive element of a list as "(sensitive)", the rest.
function M.masked(v, marks, shown)
  if marks == true then return shown end
  if type(marks) ~= "table" or not plain(v) then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = M.masked(x, marks[k], shown) end
  return setmetatable(out, getmetatable(v))
end

function M.stored_marks(v, whole)
  if whole then return true end
  return leaf_marks(v, is_stored_secret)
end

function M.type_of(v)
  if v == UNKNOWN or v == WITHHELD or v == nil or is_digest(v) then return nil end
  if v == json.null then return "dynamic" end
  local t = type(v)
  if t == "string" or t == "number" then return t end
  if t == "boolean" then return "bool" end
  if not plain(v) then return nil end
  local inner = {}
  for k, x in pairs(v) do
    inner[k] = M.type_of(x)
    if inner[k] == nil then return nil end
  end
  if is_list(v) then return json.array { "tuple", json.array(inner) } end
  local fields = {}
  for k, ft in pairs(inner) do fields[tostring(k)] = ft end
  return json.array { "object", fields }
end

-- v, with [] for each empty table where spec (an argument's schema) says a list, nested
-- blocks' lists too: Lua cannot tell {} from [], the schema can (Terraform writes a list
-- argument's [] as []). An entry stored before lists were written [] has {} there.
M.as_spec = storable.as_spec
local as_spec = M.as_spec

function M.output(value, sensitive)
  local shown = { sensitive = sensitive or false }
  if sensitive or value == nil then return shown end
  shown.value, shown.type = M.known(value), M.type_of(value)
  if shown.type == nil then shown.value = nil end -- a part is unknown: no value yet
  return shown
end

function M.object(address, kind, name, values, sensitive, mode)
  return { address = address, mode = mode or "managed", type = kind, name = name, provider_name = M.PROVIDER,
           schema_version = 0, values = values, sensitive_values = sensitive }
end

-- a's fields and b's in a new table (b's win); a or b itself when the other is not a table.
local function merged(a, b)
  if type(a) ~= "table" then return b end
  if type(b) ~= "table" then return a end
  local out = {}
  for k, x in pairs(a) do out[k] = x end
  for k, x in pairs(b) do out[k] = x end
  return out
end

-- A stored resource's values (arguments and attributes) and their sensitive marks:
-- per path where the entry says where an argument's sensitive parts are
-- (sensitive_paths), else the whole of a sensitive argument. State keeps such an
-- argument as one digest: its other parts are those args_known keeps with that same
-- digest (refresh makes them again when it reads the argument changed; an entry written
-- before args_known, or one whose parts go with another digest, has none: the
-- argument is left out).
function M.stored(entry)
  local values, marks = {}, {}
  local kind = schema.kinds[entry.kind]
  local specs = kind and kind.args or {}
  local paths = type(entry.sensitive_paths) == "table" and entry.sensitive_paths or {}
  local known = type(entry.args_known) == "table" and entry.args_known or {}
  for k, v in pairs(entry.args or {}) do
    local m = type(paths[k]) == "table" and is_digest(v) and paths[k]
      or M.stored_marks(v, entry.sensitive and entry.sensitive[k])
    marks[k] = m
    local parts = known[k]
    if type(m) == "table" and type(parts) == "table" and type(parts.digest) == "string"
      and parts.digest == v.sensitive_digest then
      values[k] = M.known(parts.value, m)
    else
      values[k] = as_spec(specs[k], M.known(v, m))
    end
  end
  for k, v in pairs(entry.attrs or {}) do
    local m = M.stored_marks(v)
    if plain(values[k]) and plain(v) and not is_digest(v) and marks[k] ~= true then
      -- a block's computed fields (vpc_config.vpc_id) beside its arguments: one value, as
      -- Terraform's state has it (they replaced the arguments, and their marks)
      values[k], marks[k] = merged(values[k], M.known(v, m)), merged(marks[k], m)
    else
      marks[k] = m
      values[k] = M.known(v, m)
    end
  end
  return values, marks
end

return M
