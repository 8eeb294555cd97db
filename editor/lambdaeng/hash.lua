---@meta lambdaeng.hash
-- require "lambdaeng.hash": digests and base64; every function accepts references.

---@class lambdaeng.hash
local hash = {}

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference hex
function hash.sha1(s) end

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference hex
function hash.sha256(s) end

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.base64(s) end

---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.base64decode(s) end

---base64 of the raw sha256 digest, as Terraform's base64sha256().
---@param s string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.base64sha256(s) end

---base64sha256 of a file's bytes (the path relative to the calling file).
---@param path string|lambdaeng.Reference
---@return string|lambdaeng.Reference
function hash.filebase64sha256(path) end

return hash
