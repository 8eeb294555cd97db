--- lambdaeng — the standard library's entry point.
-- lookup(t, {path...}, default), fail(message), format(fmt, ...), and the
-- modules json, hash and archive. lookup, format accept references.
local ref = require "lambdaeng.ref"

local M = {}

M.json = require "lambdaeng.json"
M.hash = require "lambdaeng.hash"
M.archive = require "lambdaeng.archive"

local missing = {}
local function lookup_plain(t, path, default)
  local v = t
  for i, k in ipairs(path) do
    if type(v) ~= "table" then v = missing break end
    v = v[k]
    if v == nil then v = missing break end
    if i == #path then break end
  end
  if v == missing then
    if default ~= nil then return default end
    local parts = {}
    for i, k in ipairs(path) do parts[i] = tostring(k) end
    error("lookup: no value at " .. table.concat(parts, "."), 0)
  end
  return v
end

--- The value at path inside t (nested tables), or default when any step is missing.
function M.lookup(t, path, default)
  if type(path) ~= "table" then error("lookup: the path must be a list of keys", 2) end
  return ref.lift(lookup_plain, "lookup")(t, path, default)
end

--- Stops the program with message, naming the calling file:line.
function M.fail(message)
  error(tostring(message), 2)
end

--- Makes a reusable module: module(function(opts) ... end) returns a function
-- instance(name, opts) that runs the body with every declaration addressed under
-- "name/" (nested instances nest: "api/auth/func.check"), and returns what the
-- body returns. Two instances of one module coexist under different names.
function M.module(body)
  if type(body) ~= "function" then error("lambdaeng.module expects a function", 2) end
  return function(name, opts)
    local stack = require "lambdaeng.stack"
    local results = table.pack(stack.current():instance(name, body, opts, 2))
    return table.unpack(results, 1, results.n)
  end
end

--- string.format that accepts references.
M.format = ref.lift(string.format, "format")

return M
