-- Lists derived from the schema's tables (schema.lua), made once per table: a plan
-- of 10,000 functions would otherwise rebuild and sort them for every declaration.
-- Schemas never change while lambdaeng runs; callers read these lists, never change them.
--   keys(fields)     -> the field names, sorted
--   required(fields) -> the names of the required fields, sorted
--   defaults(fields) -> { defaults = names of fields with a default, blocks = names of blocks }
local M = {}

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

M.keys = memo(function(fields)
  local keys = {}
  for k in pairs(fields) do keys[#keys + 1] = k end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  return keys
end)

M.required = memo(function(fields)
  local list = {}
  for _, k in ipairs(M.keys(fields)) do if fields[k].required then list[#list + 1] = k end end
  return list
end)

M.defaults = memo(function(fields)
  local lists = { defaults = {}, blocks = {} }
  for _, k in ipairs(M.keys(fields)) do
    local spec = fields[k]
    if spec.default ~= nil then lists.defaults[#lists.defaults + 1] = k end
    if spec.type == "block" then lists.blocks[#lists.blocks + 1] = k end
  end
  return lists
end)

return M
