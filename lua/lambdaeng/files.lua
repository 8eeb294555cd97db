-- Whole files: read one, or replace one atomically and privately (a temporary
-- file created exclusively beside it, readable by its owner alone, then renamed
-- over it), so a reader sees the old bytes or the new ones, never a part. State
-- backends, state commands and the local target's store write through here.
--
--   files.read(path)              -> bytes | nil
--   files.replace(path, bytes)    -> true | nil, message
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"

local M = {}

M.read = sys.read_file

function M.replace(path, bytes)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then
    local ok, err = sys.mkdirs(dir)
    if not ok then return nil, err end
  end
  local tmp = string.format("%s.%s.tmp", path, hash.hex(sys.random_bytes(6)))
  local ok, err = sys.write_private(tmp, bytes)
  if not ok then return nil, err end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    return nil, rerr
  end
  return true
end

return M
