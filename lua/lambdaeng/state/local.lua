-- The local state backend: a stack's state in files on this machine, beside the
-- stack (<dir>/.lambdaeng/<name>.state.json, .lock, .state.json.key) or where
-- --state PATH puts it (PATH, PATH.lock, PATH.key). The state file, its lock and
-- its merge-on-save are engine/state.c's; this file gives them the backend shape
-- workspace.lua uses, which another backend (a remote store) implements too:
--
--   backend:open()             -> state | nil, err   (get, put, remove, addresses,
--                                 outputs, set_outputs, save, info)
--   backend:lock(operation)    -> lock | nil, err    (lock:id(), lock:release() ->
--                                 true | nil, message; err.type "StateLocked" when
--                                 another run holds it)
--   backend:force_unlock(id)   -> true | nil, err    (id nil: only a dead holder's lock)
--   backend:read_key()         -> the digest key, or nil when there is none yet
--   backend:write_key(key)     -> the key in force (another run's, if it wrote first)
--                                 | nil, err
--   backend:where()            -> the state's location, for messages
-- Errors are { type, message } (errors.lua).
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local errors = require "lambdaeng.errors"

local M = {}

local Backend = {}
Backend.__index = Backend

---@param paths table { state = path, lock = path, key = path }
function M.new(paths) return setmetatable({ paths = paths }, Backend) end

function Backend:where() return self.paths.state end

function Backend:open()
  local st, err, code = statelib.open(self.paths.state)
  if not st then return nil, errors.new("StateError", err, { code = code }) end
  return st
end

function Backend:lock(operation)
  local held, err, code = statelib.lock(self.paths.lock, operation)
  if not held then return nil, errors.new(code == "EBUSY" and "StateLocked" or "StateError", err, { code = code }) end
  return held
end

function Backend:force_unlock(id)
  local ok, err, code = statelib.force_unlock(self.paths.lock, id)
  if not ok then return nil, errors.new("StateError", err, { code = code }) end
  return true
end

-- The state file's bytes ({ body = nil } when there is none), and a whole document
-- written in its place (state push, migrate; the caller holds the lock).
function Backend:read_raw() return { body = require("lambdaeng.files").read(self.paths.state) } end

function Backend:write_raw(bytes)
  local ok, err = require("lambdaeng.files").replace(self.paths.state, bytes)
  if not ok then return nil, errors.new("StateError", err) end
  return true
end

-- The key lives beside the state file, readable by its owner alone, never inside it.
function Backend:read_key()
  local key = sys.read_file(self.paths.key)
  if key and #key >= 32 then return key end
  return nil
end

function Backend:write_key(key)
  local path = self.paths.key
  sys.mkdirs(path:match("^(.*)/[^/]*$") or ".")
  local ok, err, code = sys.write_private(path, key)
  if ok then return key end
  local theirs = sys.read_file(path) -- another run created it first
  if theirs then return theirs end
  return nil, errors.new("StateError", err, { code = code })
end

return M
