--- lambdaeng.archive — deterministic zip packages.
-- zip(path) packs a file or directory (relative to the calling Lua file) and
-- returns the archive bytes and the number of files: entries sorted, every
-- timestamp 1980-01-01, permissions 0644 or 0755, so the same tree always gives
-- the same bytes. write(path, out) also writes the archive and returns its
-- base64 sha256, which is what Lambda reports as CodeSha256.
local native = require "lambdaeng.native.archive"
local hash = require "lambdaeng.native.hash"
local site = require "lambdaeng.site"

local M = {}

-- The package of path; its failure is the stack's error, raised where it called.
local function zip(path, level)
  local bytes, files = native.zip(path)
  if not bytes then error("archive.zip: " .. tostring(files), level + 1) end
  return bytes, files
end

function M.zip(path)
  if type(path) ~= "string" then error("archive.zip expects a path, got a " .. type(path), 2) end
  return zip(site.resolve_path(site.caller(2), path), 2)
end

function M.write(path, out)
  if type(path) ~= "string" or type(out) ~= "string" then error("archive.write expects two paths", 2) end
  local from = site.caller(2)
  local bytes = zip(site.resolve_path(from, path), 2)
  local f = assert(io.open(site.resolve_path(from, out), "wb"))
  f:write(bytes)
  f:close()
  return hash.base64(hash.sha256_raw(bytes))
end

--- base64(sha256(zip bytes)) and the size, without writing anything.
function M.describe(bytes)
  return hash.base64(hash.sha256_raw(bytes)), #bytes
end

return M
