-- The directory a local target serves: one target per directory at a time (an
-- flock the kernel releases however its holder ends), and server.json, through
-- which a standalone `lambdaeng local` tells other commands where it listens.
--
--   claim(dir)           -> lock | nil, info (server.json of the target serving dir) | nil, nil, why
--   serving(dir)         -> info | nil
--   advertise(dir, info)    writes server.json (the owner's alone)
local sys = require "lambdaeng.native.sys"
local json = require "lambdaeng.json"
local localstore = require "lambdaeng.localstore"

local M = {}

-- One target per directory at a time, so two never overwrite each other's
-- functions.json: claim(dir) returns a lock held until the process ends; or nil and
-- what server.json says of the standalone target serving dir (endpoint, pid,
-- verify); or nil, nil and why.
function M.claim(dir)
  sys.mkdirs(dir)
  local lock, err, code = sys.try_lock(dir .. "/lock")
  if lock then
    os.remove(dir .. "/server.json") -- left by a server that was killed
    return lock
  end
  if code ~= "EBUSY" then return nil, nil, err end
  local info = M.serving(dir)
  if info then return nil, info end
  return nil, nil, dir .. " is in use by another lambdaeng command running the local target there; "
    .. "wait for it to finish, pick another directory with --dir, or serve it to every command at once with "
    .. "`lambdaeng local --dir " .. dir .. "`"
end

-- What server.json says of the standalone target serving dir, if anything.
function M.serving(dir)
  local text = sys.read_file(dir .. "/server.json")
  if not text then return nil end
  local okd, info = pcall(json.decode_plain, text)
  if okd and type(info) == "table" and info.endpoint then return info end
end

-- Tells other lambdaeng commands where this standalone target serves dir.
function M.advertise(dir, info)
  assert(localstore.write_private(dir .. "/server.json", json.encode_plain(info)))
end

return M
