-- What a request to the local target names: its query's parameters, the function
-- resource a path addresses, and the plain Invoke path
-- most clients send, read without a pattern (the route's patterns cost ~16 k
-- instructions an Invoke; invocations are the local target's hot path).
--   parse_query(q)                   -> { name = value | { values } }
--   function_path(path)              -> raw name, rest | nil  (/<date>/functions/RAW<rest>)
--   split_name(raw)                  -> name, qualifier | nil  ("name", "name:q", ARNs)
--   plain_invoke_name(method, path, query) -> name | nil: for POST
--     /2015-03-31/functions/NAME/invocations with no query and a NAME without "/", "%"
--     or ":", NAME, which function_path + split_name give as well (qualifier nil);
--     nil for anything else (the general route then decides).
--   plain_get_name(method, path, query) -> name | nil: the same for GET
--     /2015-03-31/functions/NAME (GetFunction, a refresh's every request).
--   runtime_result(path[, expected]) -> request id, "response" | "error" | other letters, or
--     nil: a Runtime API result's path (RUNTIME_RESULT's captures, read without the pattern);
--     the id is expected itself when they are equal (no new string for the invocation's id)
local localapi = require "lambdaeng.localapi"

local M = {}

local url_decode = localapi.url_decode

function M.parse_query(q)
  local out = {}
  for pair in (q or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = url_decode(k), url_decode(v)
    if out[k] == nil then out[k] = v
    elseif type(out[k]) == "table" then table.insert(out[k], v)
    else out[k] = { out[k], v } end
  end
  return out
end

function M.function_path(path)
  return path:match("^/20%d%d%-%d%d%-%d%d/functions/([^/]+)(.*)$")
end

function M.split_name(raw)
  local s = url_decode(raw)
  local name, q = s:match("function:([^:]+):?(.*)$")
  if not name then name, q = s:match("^([^:]+):?(.*)$") end
  return name, (q ~= "" and q or nil)
end

-- the two hot readers in C (lambdaeng.native.localexec: string.find and sub here cost ~4 k
-- instructions an invocation); lua.localtarget compares them with the general parse and the pattern
local nlocal = require "lambdaeng.native.localexec"
M.plain_invoke_name = nlocal.invoke_name
M.plain_get_name = nlocal.get_name
M.RUNTIME_RESULT = "^/2018%-06%-01/runtime/invocation/([^/]+)/(%a+)$"
M.runtime_result = nlocal.runtime_result

return M
