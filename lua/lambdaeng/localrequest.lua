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
--   runtime_result(path)             -> request id, "response" | "error" | other letters, or
--     nil: a Runtime API result's path (RUNTIME_RESULT's captures; a /response of an id
--     without "/" read without the pattern)
local localapi = require "lambdaeng.localapi"

local M = {}

local url_decode = localapi.url_decode
local find, sub = string.find, string.sub -- not looked up in the string metatable per call

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

local INVOKE_PREFIX, INVOKE_SUFFIX = "/2015-03-31/functions/", "/invocations"

function M.plain_invoke_name(method, path, query)
  if method ~= "POST" or query ~= "" or #path <= #INVOKE_PREFIX + #INVOKE_SUFFIX then return nil end
  -- the suffix looked for only where it would end the path; the prefix where it would start it
  if not find(path, INVOKE_SUFFIX, -#INVOKE_SUFFIX, true) or find(path, INVOKE_PREFIX, 1, true) ~= 1 then return nil end
  local name = sub(path, #INVOKE_PREFIX + 1, -#INVOKE_SUFFIX - 1)
  if find(name, "/", 1, true) or find(name, "%", 1, true) or find(name, ":", 1, true) then return nil end
  return name
end

M.RUNTIME_RESULT = "^/2018%-06%-01/runtime/invocation/([^/]+)/(%a+)$"
local RESULT_PREFIX, RESPONSE = "/2018-06-01/runtime/invocation/", "/response"

function M.runtime_result(path)
  if find(path, RESPONSE, -#RESPONSE, true) and find(path, RESULT_PREFIX, 1, true) == 1 then
    local rid = sub(path, #RESULT_PREFIX + 1, -#RESPONSE - 1)
    if rid ~= "" and not find(rid, "/", 1, true) then return rid, "response" end
  end
  return path:match(M.RUNTIME_RESULT)
end

return M
