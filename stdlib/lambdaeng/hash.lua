--- lambdaeng.hash — digests and base64 (OpenSSL underneath).
-- Every function accepts references and then returns a reference.
-- filebase64sha256(path) resolves path relative to the Lua file that calls it.
local native = require "lambdaeng.native.hash"
local ref = require "lambdaeng.ref"
local site = require "lambdaeng.site"

local M = {}

-- f's failure (nil, message) is the stack's error, raised where it called.
local function need_string(name, f)
  return function(s)
    if type(s) ~= "string" then error("hash." .. name .. " expects a string, got a " .. type(s), 2) end
    local v, err = f(s)
    if v == nil then error("hash." .. name .. ": " .. tostring(err), 2) end
    return v
  end
end

M.sha1 = ref.lift(need_string("sha1", native.sha1), "hash.sha1")
M.sha256 = ref.lift(need_string("sha256", native.sha256), "hash.sha256")
M.base64 = ref.lift(need_string("base64", native.base64), "hash.base64")
M.base64decode = ref.lift(need_string("base64decode", native.base64decode), "hash.base64decode")
--- base64 of the raw sha256 digest, as Terraform's base64sha256().
M.base64sha256 = ref.lift(need_string("base64sha256", function(s)
  return native.base64(native.sha256_raw(s))
end), "hash.base64sha256")

function M.filebase64sha256(path)
  local from = site.caller(2)
  return ref.lift(function(p)
    if type(p) ~= "string" then error("hash.filebase64sha256 expects a path", 2) end
    local v, err = native.filebase64sha256(site.resolve_path(from, p))
    if v == nil then error("hash.filebase64sha256: " .. tostring(err), 2) end
    return v
  end, "hash.filebase64sha256")(path)
end

return M
