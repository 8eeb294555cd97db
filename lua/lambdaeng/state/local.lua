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
--   backend:prefetch()         -> (local files only) the state read ahead, for the next
--                                 open (engine/stateprefetch.h)
--   backend:scrub_secrets(st, make_digest) -> found, warning | nil, err: the
--                                 addresses of sensitive values an older lambdaeng
--                                 stored in clear, digests now in st (and .backup;
--                                 in S3's current object), and what to tell the user
--   backend:finish_scrub()     -> true | nil, message (at the lock's release)
-- Errors are { type, message } (errors.lua).
--
-- Saves from tasks (an apply's many operations) are group-committed
-- (state/groupcommit.lua): each returns once a write that holds it is on disk, the
-- write and its fsyncs run on a worker thread (state:save_in_background), and the
-- saves made while one is in flight go together in the next, so the loop keeps
-- sending while the disk works and the number of writes follows the disk's speed,
-- not the number of saves. What a caller saved before a call is on disk before it
-- sends the call, as before.
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local errors = require "lambdaeng.errors"
local files = require "lambdaeng.files"
local scrub = require "lambdaeng.state.scrub"
local groupcommit = require "lambdaeng.state.groupcommit"
local delegate = require "lambdaeng.state.delegate"

local M = {}

local Backend = {}
Backend.__index = Backend

---@param paths table { state = path, lock = path, key = path }
function M.new(paths) return setmetatable({ paths = paths }, Backend) end

function Backend:where() return self.paths.state end

-- The state object: engine/state.c's, whose save is group-committed from a task.
local State = {}

State.__index = delegate.index(State)

-- true | nil, message (as the native save).
function State:save()
  local native = self.native
  local ok, err
  if not coroutine.isyieldable() and not self.commits.writing then ok, err = native:save()
  else ok, err = self.commits:commit(native:dirty()) end
  self.failed = not ok or nil
  return ok, err
end

-- After a failed last save: { where = the state file } (which holds the state as of
-- its last write; this run's is in its memory only); nil when the last save succeeded.
function State:unsaved()
  if self.failed then return { where = self.path } end
  return nil
end

-- Starts reading and checking the state file on a thread of its own (plan and run: while
-- the stack is evaluated); the next open takes that document if the file is then still
-- byte for byte what was read (engine/stateprefetch.h), and otherwise reads it itself.
function Backend:prefetch() self.prefetched = statelib.prefetch(self.paths.state) end

function Backend:open()
  local prefetched = self.prefetched
  self.prefetched = nil
  local native, err, code = statelib.open(self.paths.state, prefetched)
  if not native then return nil, errors.new("StateError", err, { code = code }) end
  local st = setmetatable({ native = native, path = self.paths.state }, State)
  st.commits = groupcommit.new(function() return native:save_in_background() end, { retry = true })
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

-- Sensitive values an older lambdaeng stored in clear (before keyed digests: an
-- output's value, an invocation's result; state/scrub.lua finds them) become
-- digests in st at the first locked open of a command that writes, so that
-- whatever it saves holds none; and the backup that save makes is not left
-- holding them: finish_scrub() (at the lock's release) makes it the previous
-- state with digests instead, if a save happened. A backup that holds them, of a
-- state that no longer does, is given digests at once. make_digest() -> digest |
-- nil, err: the state's key. Returns what was found and the warning that says so.
function Backend:scrub_secrets(st, make_digest)
  local path = self.paths.state
  local backup = path .. ".backup"
  local text, old = files.read(path), files.read(backup)
  if not scrub.marked(text) and not scrub.marked(old) then return {} end
  local found, entries, outputs = {}, nil, nil
  if scrub.marked(text) then found, entries, outputs = scrub.find(st) end
  local digest, err
  if #found > 0 then
    digest, err = make_digest()
    if not digest then return nil, err end
    scrub.into(st, found, entries, outputs, digest)
    self.scrubbed = { st = st, serial = st:info().serial, previous = st:document() }
    return found, string.format("state file %s holds sensitive values in clear, written by an older lambdaeng "
      .. "(%s): this run stores keyed digests of them instead, in its .backup too", path, table.concat(found, ", "))
  end
  if not scrub.marked(old) then return {} end
  local prev = statelib.open(backup) -- (read only: never saved)
  local bad, e2, o2
  if prev then bad, e2, o2 = scrub.find(prev) end
  if not prev or #bad == 0 then return {} end
  digest, err = make_digest()
  if not digest then return nil, err end
  scrub.into(prev, bad, e2, o2, digest)
  local ok, rerr = files.replace(backup, prev:document())
  if not ok then return nil, errors.new("StateError", "cannot replace " .. backup .. ": " .. tostring(rerr)) end
  return { ".backup" }, string.format("the backup of state file %s held sensitive values in clear, written by an "
    .. "older lambdaeng: it holds keyed digests of them now", path)
end

function Backend:finish_scrub()
  local s = self.scrubbed
  self.scrubbed = nil
  if not s or s.st:info().serial == s.serial then return true end -- nothing was saved: nothing to mend
  local ok, err = files.replace(self.paths.state .. ".backup", s.previous)
  if not ok then return nil, "cannot replace " .. self.paths.state .. ".backup: " .. tostring(err) end
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
