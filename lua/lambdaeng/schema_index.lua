-- Lists derived from the schema's tables (schema.lua), made once per table: a plan
-- of 10,000 functions would otherwise rebuild and sort them for every declaration.
-- Schemas never change while lambdaeng runs; callers read these lists, never change them.
--   keys(fields)     -> the field names, sorted
--   required(fields) -> the names of the required fields, sorted
--   defaults(fields) -> { defaults = names of fields with a default, blocks = names of blocks,
--                       table_default = whether a default is a table }
--   fill_defaults(fields, out) -> out, each missing field's default filled in (nested
--                       blocks as filled copies)
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
  local lists = { defaults = {}, blocks = {}, table_default = false } -- (table_default: one is a table)
  for _, k in ipairs(M.keys(fields)) do
    local spec = fields[k]
    if spec.default ~= nil then lists.defaults[#lists.defaults + 1] = k end
    if type(spec.default) == "table" then lists.table_default = true end
    if spec.type == "block" then lists.blocks[#lists.blocks + 1] = k end
  end
  return lists
end)

function M.fill_defaults(fields, out)
  local lists = M.defaults(fields)
  local defaults, blocks = lists.defaults, lists.blocks
  for i = 1, #defaults do
    local k = defaults[i]
    if out[k] == nil then
      local d = fields[k].default
      if type(d) == "table" then d = table.move(d, 1, #d, 1, {}) end
      out[k] = d
    end
  end
  for i = 1, #blocks do
    local k = blocks[i]
    local v = out[k]
    if v ~= nil and type(v) == "table" then -- (type() only for a block given: most are not)
      local copy = sized_like(out[k]) -- (filled without a rehash)
      for name, v in pairs(out[k]) do copy[name] = v end
      out[k] = M.fill_defaults(fields[k].fields, copy)
    end
  end
  return out
end

return M
