-- A declaration's arguments as a plan or an apply uses them (stack.lua re-exports both):
--   resolve_args(decl, env) -> a new table: every reference resolved through env (nil
--       env: static, unknown references stay UNKNOWN), each missing argument's default,
--       the derived values (a package's hash), sets (a block's too) in one order and JSON-typed
--       arguments as canonical text (WITHHELD or UNKNOWN when they cannot be encoded),
--       a list's empty table json.array {} (storable.as_spec: state and plans write []);
--       and, second, whether any declared argument is a table (false: none is a reference)
--   with_defaults(fields, args) -> a copy of args with the fields' defaults filled in
-- Called once per declaration per plan (10,000 in W5): the schema's lists are read
-- from schema_index, made once per kind, and only tables are walked.
local ref = require "lambdaeng.ref"
local schema_index = require "lambdaeng.schema_index"
local json = require "lambdaeng.json"
local nhash = require "lambdaeng.native.hash"
local vm = require "lambdaeng.native.vm"
local storable = require "lambdaeng.storable"
local sets = require "lambdaeng.sets"

local M = {}
local UNKNOWN, WITHHELD = ref.UNKNOWN, ref.WITHHELD
local resolve, fill_defaults = ref.resolve, schema_index.fill_defaults
local as_spec, list_fields = storable.as_spec, storable.list_fields
local in_order = sets.in_order
local NO_LISTS = {}

function M.with_defaults(fields, args)
  local out = {}
  for k, v in pairs(args) do out[k] = v end
  return fill_defaults(fields, out)
end

-- A table value as its argument's spec wants it (a set sorted, a block's sets too, JSON as
-- text); declared: the argument as declared.
local function canonical(spec, v, declared)
  -- (a set sorted, so that the API's order or the stack's is no change: sets.lua; one holding
  -- a sensitive part too, then sensitive whole: json_values.arg_marks)
  if spec.set then return in_order(spec, v) end -- (compatible_runtimes...)
  if spec.type == "block" then -- (vpc_config's ids, cors' lists: sets in the provider)
    if v == UNKNOWN or v == WITHHELD or type(declared) ~= "table" or ref.is_ref(declared) then return v end
    return in_order(spec, v)
  end
  local ok, text = pcall(json.encode_plain, v)
  if ok then return spec.type == "client_context" and nhash.base64(text) or text end
  return ref.has_withheld(v) and WITHHELD or UNKNOWN
end

function M.resolve_args(decl, env)
  local specs = decl.kind.args
  -- (a copy at its final size, a derived value and the defaults included: filling them in
  -- had grown it, a rehash per resource)
  local out, tables = vm.copy(decl.args, #schema_index.defaults(specs).defaults + 1)
  if tables then -- (only a table is or holds a reference)
    for k, v in pairs(out) do if type(v) == "table" then out[k] = (resolve(v, env, 1)) end end
  end
  fill_defaults(specs, out, not tables)
  local derived = decl.derived
  if next(derived) ~= nil then
    for k, v in pairs(derived) do if out[k] == nil then out[k] = v end end
  end
  local reshaped = schema_index.reshaped(specs) -- the few arguments a table value is reshaped for
  for i = 1, #reshaped do
    local k = reshaped[i]
    local v = out[k]
    if v ~= nil and type(v) == "table" then out[k] = canonical(specs[k], v, decl.args[k]) end
  end
  -- a list's {} is [] (state, plans, json.encode of a reference to it); no table, no list
  local lists = (tables or schema_index.defaults(specs).table_default) and list_fields(specs) or NO_LISTS
  for i = 1, #lists do
    local k = lists[i]
    local v = out[k]
    if v ~= nil and type(v) == "table" then out[k] = as_spec(specs[k], v) end
  end
  return out, tables
end

return M
