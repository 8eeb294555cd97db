-- Helpers of var() in a stack: whether a default fits the variable's declared type
-- (as Terraform's "Invalid default value for variable"), and what a validate
-- function raised, as a message a person can read.
--
--   default_mismatch(type, default) -> nil | why it does not fit
--   raised_text(e)                  -> text (never "table: 0x...")
local validate = require "lambdaeng.validate"

local M = {}

-- Why a var's default does not fit its declared type (nil when it does), as
-- Terraform's "Invalid default value for variable".
function M.default_mismatch(ty, d)
  local shown = type(d) == "string" and string.format("%q", d) or tostring(d)
  if ty == "number" then
    if type(d) ~= "number" then return shown .. " is not a number" end
    if d ~= d or d == math.huge or d == -math.huge then return shown .. " is not a finite number" end
  elseif ty == "bool" then
    if type(d) ~= "boolean" then return shown .. " is not true or false" end
  elseif ty == "string" then
    if type(d) ~= "string" then return shown .. " is not a string" end
  elseif ty == "json" then
    local path, why = validate.value_problem(d)
    if path then return (path ~= "" and ("at " .. path .. " ") or "") .. why end
  end
end

-- What a validate function raised, as a message (an error value without text is named, never "table: 0x...").
function M.raised_text(e)
  if type(e) == "string" then return e end
  local mt = getmetatable(e)
  if type(mt) == "table" and mt.__tostring then
    local ok, text = pcall(tostring, e)
    if ok and type(text) == "string" then return text end
  end
  if type(e) == "number" or type(e) == "boolean" then return tostring(e) end
  return "its validate function raised a " .. type(e) .. " value instead of a message"
end

return M
