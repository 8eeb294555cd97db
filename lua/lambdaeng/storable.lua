-- What state (JSON) and the API can hold: text that is UTF-8, finite numbers,
-- booleans, lists (keys 1..n) and maps of text keys, nothing that contains itself.
-- References and values not yet known pass (they are checked once resolved).
--
--   value_problem(v) -> nil | path inside v ("" for v itself), message
--   output_problem(v) -> nil | path, message (worded for an output's value)
--   join(path, key)  -> the path of key inside path ("a.b", "a[1]")
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"

local M = {}
local UNKNOWN = ref.UNKNOWN

function M.join(path, key)
  if path == "" then return key end
  if type(key) == "number" then return path .. "[" .. key .. "]" end
  return path .. "." .. key
end
local join = M.join

-- Where v holds something state (JSON) and the API cannot carry: returns path, message
-- for the first such part (path "" for v itself), or nil. References, UNKNOWN and
-- WITHHELD are left for later (checked once resolved).
local KIND_OF = { ["function"] = "a function", thread = "a coroutine", userdata = "a userdata value" }
function M.value_problem(v, path, seen, depth)
  path, depth = path or "", depth or 0
  if ref.is_ref(v) or v == UNKNOWN or v == ref.WITHHELD or v == json.null then return nil end
  local t = type(v)
  if t == "string" then
    if not utf8.len(v) then
      local _, bad = utf8.len(v)
      return path, string.format("is not valid UTF-8 text (byte %d); state and the API hold text only", bad)
    end
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      return path, string.format("is %s, which JSON cannot hold (a number must be finite)", tostring(v))
    end
  elseif t == "table" then
    local mt = getmetatable(v)
    if mt ~= nil and not (type(mt) == "table" and mt.__name == "lambdaeng.json.array") then
      local name = type(mt) == "table" and rawget(mt, "__name")
      if name == "lambdaeng.handle" then
        return path, "is a resource handle; use one of its attributes (such as .arn or .function_name)"
      end
      return path, string.format("is a table with a metatable%s, which cannot be stored (state keeps plain "
        .. "lists and maps)", type(name) == "string" and (" (" .. name .. ")") or "")
    end
    seen = seen or {}
    if seen[v] or depth > 100 then return path, "is a table that contains itself" end
    seen[v] = true
    local n, count = #v, 0
    for k in pairs(v) do count = count + 1; if math.type(k) ~= "integer" or k < 1 or k > n then n = -1 break end end
    local list = n >= 0 and count == n
    for k, x in pairs(v) do
      if not list and (type(k) ~= "string" or not utf8.len(k) or k:find("\0", 1, true)) then
        return path, string.format("has a key that cannot be stored (%s %s): a table is a list (keys 1..n) "
          .. "or a map of text keys", type(k), type(k) == "string" and string.format("%q", k) or tostring(k))
      end
      local p, m = M.value_problem(x, join(path, k), seen, depth + 1)
      if p then return p, m end
    end
    seen[v] = nil
  elseif t ~= "boolean" and t ~= "nil" then
    return path, "is " .. (KIND_OF[t] or ("a " .. t)) .. ", which state and the API cannot hold"
  end
  return nil
end

-- An output's value (resolved or not): nil, or the path inside it and a message.
function M.output_problem(value)
  local p, m = M.value_problem(value)
  if p then return p, "the value " .. m end
end

return M
