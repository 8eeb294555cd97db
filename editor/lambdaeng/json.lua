---@meta lambdaeng.json
-- require "lambdaeng.json": JSON with a canonical encoder (keys sorted, integers without a fraction).

---@class lambdaeng.json
local json = {}

---JSON null, in both directions.
json.null = nil ---@type lightuserdata

---Marks t as a JSON array (an empty table then encodes as [] rather than {}).
---@param t? table
---@return table
function json.array(t) end

---Canonical JSON text of value (a reference if value holds references).
---@param value any
---@return string|lambdaeng.Reference
function json.encode(value) end

---The Lua value of JSON text (a reference if text is one); integral numbers become integers.
---@param text string|lambdaeng.Reference
---@return any
function json.decode(text) end

---true when text is valid JSON, else false and the parser's message.
---@param text string
---@return boolean ok
---@return string? message
function json.valid(text) end

return json
