-- Lists derived from the schema's tables (schema.lua), made once per table: a plan
-- of 10,000 functions would otherwise rebuild and sort them for every declaration.
-- Schemas never change while lambdaeng runs; callers read these lists, never change them.
--   keys(fields)     -> the field names, sorted
--   required(fields) -> the names of the required fields, sorted
--   defaults(fields) -> { defaults = names of fields with a default, blocks = names of blocks }
--   fill_defaults(fields, out[, no_table]) -> out, each missing field's default filled in
--                       (nested blocks as filled copies; no_table: out holds no table value)
--   reshaped(fields) -> the names of the fields whose table value a plan reshapes (a set, a block with one,
--                       JSON or client-context text: stackargs.lua)
--   sorted_keys(t)   -> the keys of any table t in order, by their text (not memoized)
--   enum_set(list)   -> the values of an enum list as a set (value -> true)
--   strings_taken(spec) -> the strings validation found valid for spec (value -> true,
--                       [1] = how many), filled by validate.lua: a stack's functions share
--                       most of their values (role, runtime, handler), each checked once
local sized_like = require("lambdaeng.native.vm").sized_like

local M = {}

-- (string keys sort with the VM's own comparison: the same order, no Lua call per comparison)
local function by_text(x, y) return tostring(x) < tostring(y) end
function M.sorted_keys(t)
  local keys, strings = {}, true
  for k in pairs(t) do
    keys[#keys + 1] = k
    if strings and type(k) ~= "string" then strings = false end
  end
  if strings then table.sort(keys) else table.sort(keys, by_text) end
  return keys
end

local function memo(make)
  local made = setmetatable({}, { __mode = "k" })
  return function(fields)
    local list = made[fields]
    if not list then
      list = make(fields)
      made[fields] = list
    end
    return list
  end
end

M.keys = memo(M.sorted_keys)

M.enum_set = memo(function(list)
  local set = {}
  for _, e in ipairs(list) do set[e] = true end
  return set
end)

M.strings_taken = memo(function() return { 0 } end)

M.required = memo(function(fields)
  local list = {}
  for _, k in ipairs(M.keys(fields)) do if fields[k].required then list[#list + 1] = k end end
  return list
end)

M.defaults = memo(function(fields)
  -- (values: each default as it is, false for one that is a table, copied when filled in;
  -- table_default: whether any default is a table)
  local lists = { defaults = {}, values = {}, blocks = {}, table_default = false }
  for _, k in ipairs(M.keys(fields)) do
    local spec = fields[k]
    if spec.default ~= nil then
      lists.defaults[#lists.defaults + 1] = k
      lists.values[#lists.defaults] = type(spec.default) ~= "table" and spec.default
    end
    if type(spec.default) == "table" then lists.table_default = true end
    if spec.type == "block" then lists.blocks[#lists.blocks + 1] = k end
  end
  return lists
end)

-- Whether spec is a block with a set among its fields (vpc_config, cors).
local function has_set_field(spec)
  if spec.type ~= "block" then return false end
  for _, field in pairs(spec.fields) do if field.set then return true end end
  return false
end

M.reshaped = memo(function(fields)
  local list = {}
  for _, k in ipairs(M.keys(fields)) do
    local spec = fields[k]
    if spec.set or spec.type == "json" or spec.type == "client_context" or has_set_field(spec) then
      list[#list + 1] = k
    end
  end
  return list
end)

function M.fill_defaults(fields, out, no_table)
  local lists = M.defaults(fields)
  local defaults, values, blocks = lists.defaults, lists.values, lists.blocks
  for i = 1, #defaults do
    local k = defaults[i]
    if out[k] == nil then
      local d = values[i]
      if d == false and type(fields[k].default) == "table" then
        d = fields[k].default
        d = table.move(d, 1, #d, 1, {})
      end
      out[k] = d
    end
  end
  -- (a block is a table: none to fill when out holds no table and no default is one)
  if no_table and not lists.table_default then return out end
  for i = 1, #blocks do
    local k = blocks[i]
    local block = out[k]
    if block ~= nil and type(block) == "table" then
      local copy = sized_like(out[k]) -- (filled without a rehash)
      for name, v in pairs(out[k]) do copy[name] = v end
      out[k] = M.fill_defaults(fields[k].fields, copy)
    end
  end
  return out
end

return M
