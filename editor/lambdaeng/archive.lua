---@meta lambdaeng.archive
-- require "lambdaeng.archive": deterministic zip packages (the same tree, the same bytes).

---@class lambdaeng.archive
local archive = {}

---Packs a file or directory (relative to the calling file): the zip's bytes and its number of files.
---@param path string
---@return string bytes
---@return integer files
function archive.zip(path) end

---Packs path into the zip file out; returns its base64 sha256 (Lambda's CodeSha256).
---@param path string
---@param out string
---@return string code_sha256
function archive.write(path, out) end

---base64(sha256(bytes)) and the size, without writing anything.
---@param bytes string
---@return string code_sha256
---@return integer size
function archive.describe(bytes) end

return archive
