-- Sets among a kind's arguments (schema `set = true`: layers' compatible runtimes and
-- architectures, a URL's cors lists, vpc_config's ids) as the provider keeps them: their
-- order is no difference. A declaration's sets are sorted (stackargs.lua); two values of one
-- argument are compared with their sets in order (the plan, the refresh), so that a value
-- stored in another order (by an older lambdaeng, which kept the declared order) is the same.
--   holds_set(spec)          -> whether spec is a set or a block with a set among its fields
--   in_order(spec, v)        -> v with the sets it holds sorted (a copy; v when none moves)
--   same(spec, a, b, equal)  -> whether a and b are equal, each set compared as a set
--                               (equal: the plain comparison, plan.equal)
local M = {}

local holds_memo = setmetatable({}, { __mode = "k" })
function M.holds_set(spec)
  if type(spec) ~= "table" then return false end
  local held = holds_memo[spec]
  if held ~= nil then return held end
  held = spec.set == true
  if not held and spec.type == "block" then
    for _, field in pairs(spec.fields) do if field.set then held = true break end end
  end
  holds_memo[spec] = held
  return held
end

-- A list of strings sorted (a copy); v itself when it holds anything else or is sorted.
local function sorted_strings(v)
  if type(v) ~= "table" then return v end
  local n, in_order = #v, true
  for i = 1, n do
    if type(v[i]) ~= "string" then return v end
    if i > 1 and v[i] < v[i - 1] then in_order = false end
  end
  if in_order then return v end
  local out = setmetatable(table.move(v, 1, n, 1, {}), getmetatable(v))
  table.sort(out)
  return out
end

function M.in_order(spec, v)
  if type(v) ~= "table" then return v end
  if spec.set then return sorted_strings(v) end
  if spec.type ~= "block" then return v end
  local out = v
  for k, field in pairs(spec.fields) do
    if field.set then
      local sorted = sorted_strings(v[k])
      if sorted ~= v[k] then
        if out == v then
          out = setmetatable({}, getmetatable(v))
          for name, x in pairs(v) do out[name] = x end
        end
        out[k] = sorted
      end
    end
  end
  return out
end

function M.same(spec, a, b, equal)
  if equal(a, b) then return true end
  if not M.holds_set(spec) then return false end
  return equal(M.in_order(spec, a), M.in_order(spec, b))
end

return M
