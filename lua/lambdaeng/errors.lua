-- The one shape of an error above the native layer. A function that can fail
-- returns its result, or nil and an error: a table with at least
--   type     a name a program can test ("ResourceNotFoundException", "StateLocked")
--   message  a complete sentence for a person: what is wrong and where
-- and any further fields its producer documents (status, attempts, log, ...).
-- The AWS layer's errors (aws/client.lua) are of this shape as they come; native
-- modules return nil, message, code (luv's way), which from() turns into one.
-- tostring(err) is its message, so an error prints as the sentence it carries.
local M = {}

local Error = { __name = "lambdaeng.error" }
Error.__index = Error
Error.__tostring = function(e) return tostring(e.message) end

---@param kind string the error's type
---@param message string
---@param fields table|nil further fields, copied in
---@return table
function M.new(kind, message, fields)
  local e = setmetatable({ type = kind, message = message }, Error)
  for k, v in pairs(fields or {}) do e[k] = v end
  return e
end

---An error from whatever a failure gave: an error stays as it is; a message (a
---native module's, with its code) becomes one of type `kind` (default: the code,
---or "Error").
function M.from(err, kind, code)
  if getmetatable(err) == Error then return err end
  if type(err) == "table" and err.message ~= nil then return setmetatable(err, Error) end
  return M.new(kind or code or "Error", tostring(err), code and { code = code } or nil)
end

---A delete's outcome from the call's results (value, err): true when it succeeded or
---what it deletes was already gone (ResourceNotFoundException), else nil, err.
function M.deleted(_, err)
  if err and err.type ~= "ResourceNotFoundException" then return nil, err end
  return true
end

---The text of an error, a message, or anything else.
function M.text(err)
  if type(err) == "table" and err.message ~= nil then return tostring(err.message) end
  return tostring(err)
end

---Whether v is an error of this shape (a table with a type and a message).
function M.is(v)
  return type(v) == "table" and v.type ~= nil and v.message ~= nil
end

return M
