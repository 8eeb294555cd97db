-- What state (JSON) and the API can hold: text that is UTF-8, finite numbers,
-- booleans, lists (keys 1..n) and maps of text keys, nothing that contains itself.
-- References and values not yet known pass (they are checked once resolved).
--
--   value_problem(v) -> nil | path inside v ("" for v itself), message
--   output_problem(v) -> nil | path, message (worded for an output's value)
--   join(path, key)  -> the path of key inside path ("a.b", "a[1]")
--   as_spec(spec, v) -> v with each empty table where spec (an argument's schema) says a
--                       list made json.array {}, so that state, plans and json.encode say []
--   list_fields(fields) -> the names of the fields as_spec may change (a list in their spec)
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"

local M = {}
local UNKNOWN = ref.UNKNOWN
local ARRAY_MT = getmetatable(json.array())

-- Whether spec is or holds a list (memoized per spec: schemas never change while lambdaeng runs).
local holds_list_memo = setmetatable({}, { __mode = "k" })
local function holds_list(spec)
  local held = holds_list_memo[spec]
  if held ~= nil then return held end
  held = spec.type == "list"
  if spec.type == "block" then
    for _, field in pairs(spec.fields) do held = held or holds_list(field) end
  elseif spec.type == "map" and type(spec.elem) == "table" then
    held = holds_list(spec.elem)
  end
  holds_list_memo[spec] = held
  return held
end

-- The names of fields (a kind's arguments) whose spec is or holds a list, made once per table.
local list_fields_memo = setmetatable({}, { __mode = "k" })
function M.list_fields(fields)
  local names = list_fields_memo[fields]
  if names then return names end
  names = {}
  for k, spec in pairs(fields) do if holds_list(spec) then names[#names + 1] = k end end
  table.sort(names)
  list_fields_memo[fields] = names
  return names
end

-- Lua cannot tell {} from [], the schema can (Terraform's state and plans write a list's [] as
-- []). v itself when nothing changes, else a copy: v is never changed in place (a declared
-- table may be shared with other arguments). Only plain tables are data; references and
-- UNKNOWN are left as they are (resolved later, then shaped again).
function M.as_spec(spec, v)
  if type(v) ~= "table" or not spec or not holds_list(spec) then return v end
  local mt = getmetatable(v)
  if mt ~= nil and mt ~= ARRAY_MT then return v end
  local list = spec.type == "list"
  if list and next(v) == nil then return mt and v or setmetatable({}, ARRAY_MT) end
  local copy
  for k, x in pairs(v) do
    local part = (list or spec.type == "map") and spec.elem or spec.type == "block" and spec.fields[k]
    local shaped = type(part) == "table" and M.as_spec(part, x) or x
    if shaped ~= x then
      if not copy then
        copy = {}
        for key, item in pairs(v) do copy[key] = item end
        setmetatable(copy, mt)
      end
      copy[k] = shaped
    end
  end
  return copy or v
end

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
