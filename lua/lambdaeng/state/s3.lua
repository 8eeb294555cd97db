-- The S3 state backend: a stack's state in one S3 object, with the same methods
-- as state/local.lua (see there) plus read_raw/write_raw for the state commands.
--
-- Lock: the object <key>.lock, created with If-None-Match: * (S3's conditional
-- write: only one creator wins, 412 for the others), holding { id, who, host,
-- pid, operation, created, version }. A 412 whose lock holds our own id is our
-- first attempt's lost response: the lock is ours. Release deletes it with
-- If-Match on its ETag, so it never removes a lock that is no longer ours.
--
-- State: read once when opened into a private working copy that
-- engine/state.c's state object edits and saves as for local state; every save
-- that changed it is then written to S3 compare-and-swap: If-Match on the ETag
-- last read or written (If-None-Match: * for a new state). Saves made while a
-- write is in flight are written together in the next write (group commit:
-- state/groupcommit.lua): each write saves the working copy on a libuv worker
-- (state:save_in_background, fsyncs included, as the local backend does), then
-- PUTs it; each save returns once S3 holds it (what the engine saves before a
-- call, a create's pending entry, is in S3 before the call).
-- A write that fails (another writer changed the object, S3 unreachable) keeps
-- the state in a local errored file and says how to push it: nothing is lost.
-- A working copy that cannot be saved (disk full, permissions) sends nothing to
-- S3: that save fails naming the file and this run's state is kept in the errored
-- file, but the next save writes again (and removes that file once S3 holds it all).
-- The digest key lives in <key>.key beside the state (with the state's
-- encryption), shared by everyone who uses this state. Sensitive values an older
-- lambdaeng left in clear are written back as digests at the first locked open of
-- a command that writes (scrub_secrets).
local statelib = require "lambdaeng.native.state"
local sys = require "lambdaeng.native.sys"
local hash = require "lambdaeng.native.hash"
local json = require "lambdaeng.json"
local errors = require "lambdaeng.errors"
local files = require "lambdaeng.files"
local s3 = require "lambdaeng.aws.s3"
local task = require "lambdaeng.task"
local groupcommit = require "lambdaeng.state.groupcommit"
local scrub = require "lambdaeng.state.scrub"
local delegate = require "lambdaeng.state.delegate"

local M = {}

local Backend = {}
Backend.__index = Backend

-- cfg: { bucket = aws/s3.lua bucket, key, sse (true | { kms_key_id } | nil),
--        errored = local path for a state that could not be written,
--        push_hint = the command that pushes the errored file }
function M.new(cfg)
  return setmetatable({ bucket = cfg.bucket, key = cfg.key, lock_key = cfg.key .. ".lock",
                        digest_key = cfg.key .. ".key", sse = cfg.sse, errored = cfg.errored,
                        push_hint = cfg.push_hint, stack_path = cfg.stack_path or "STACK.lua" }, Backend)
end

function Backend:where() return self.bucket:where(self.key) end

local function s3_error(what, err)
  return errors.new("StateError", string.format("%s: %s%s", what, err.type or "Error",
    err.message and (": " .. err.message) or ""), { code = err.type, status = err.status })
end

local function hostname()
  local host = files.read("/proc/sys/kernel/hostname")
  return host and host:gsub("%s+$", "") or "unknown"
end

-- The state object ------------------------------------------------------------

local State = {}

-- Every method of the native state object, on the working copy.
State.__index = delegate.index(State)

-- A private directory for this process's working copy; those of processes that no
-- longer run (killed: nothing removed them) are removed on the way.
local function working_dir()
  local base = os.getenv("TMPDIR") or "/tmp"
  for _, name in ipairs(sys.list(base) or {}) do
    local pid = name:match("^lambdaeng%-s3%-(%d+)%-%x+$")
    if pid and tonumber(pid) ~= sys.pid() and not sys.kind("/proc/" .. pid) then
      sys.remove_tree(base .. "/" .. name)
    end
  end
  local dir = string.format("%s/lambdaeng-s3-%d-%s", base, sys.pid(), hash.hex(sys.random_bytes(6)))
  local ok, err = sys.mkdirs(dir)
  if not ok then return nil, err end
  return dir
end

local function close_state(self)
  if self.dir then sys.remove_tree(self.dir) self.dir = nil end
end
State.__gc = close_state
State.__close = close_state
State.close = close_state

-- The object as read now: { body, etag } or {} when there is none.
function Backend:read_raw()
  local obj, err = self.bucket:get(self.key)
  if obj then return obj end
  if err.status == 404 then return {} end
  return nil, s3_error("reading the state " .. self:where(), err)
end

function Backend:open()
  local obj, err = self:read_raw()
  if not obj then return nil, err end
  local dir, derr = working_dir()
  if not dir then return nil, errors.new("StateError", derr) end
  local path = dir .. "/state.json"
  if obj.body then
    local ok, werr = files.replace(path, obj.body)
    if not ok then sys.remove_tree(dir) return nil, errors.new("StateError", werr) end
  end
  local native, oerr = statelib.open(path)
  if not native then
    sys.remove_tree(dir)
    return nil, errors.new("StateError", (oerr:gsub(path:gsub("%p", "%%%0"), self:where())))
  end
  local st = setmetatable({ native = native, backend = self, dir = dir, path = path, etag = obj.etag }, State)
  st.commits = groupcommit.new(function() return st:write_once() end)
  return st
end

-- A state that could not be written to S3: kept locally (the document this run
-- holds, which a working copy that failed to save lacks), and the way to push it.
-- retried: nothing reached S3 and the next save writes again.
function State:keep(reason, retried)
  local b = self.backend
  self.unsaved_in = false -- (in memory only, unless the errored file is written below)
  local ok, werr = files.replace(b.errored, self.native:document())
  if not ok then
    return string.format("%s; keeping it locally failed too (%s): %s", reason, werr, retried
      and ("this run's state is in its memory only, until a save writes it to " .. b:where())
      or ("the state is still in " .. self.path .. " until this run ends"))
  end
  self.kept = retried or nil
  self.unsaved_in = b.errored
  if retried then
    return string.format("%s. %s was not written and holds this run's state as of its last write. This run's "
      .. "state was kept in %s: nothing is lost; the next save writes it all to S3 and removes that file, or write "
      .. "it back with: %s", reason, b:where(), b.errored, b.push_hint(b.errored))
  end
  return string.format("%s. This run's state was kept in %s: nothing is lost. Check what the other run did, then "
    .. "write it back with: %s", reason, b.errored, b.push_hint(b.errored))
end

-- Saves the working copy (on a worker when called from a task: the document is
-- taken before the first wait, as groupcommit asks) and writes it to S3
-- compare-and-swap. true | nil, message.
function State:write_once()
  local b = self.backend
  local saved, serr = self.native:save_in_background()
  if not saved then -- nothing was sent: the next save writes again
    return nil, "cannot save the working copy of the state (" .. tostring(serr) .. ")", true
  end
  local bytes = files.read(self.path)
  if not bytes then return nil, "the working copy " .. self.path .. " is gone" end
  local res, err = b.bucket:put(b.key, bytes, { if_match = self.etag, if_none_match = not self.etag, sse = b.sse })
  if res then self.etag = res.etag return true end
  if err.status ~= 412 then
    return nil, string.format("writing the state to %s failed (%s: %s)", b:where(), err.type, err.message)
  end
  local now = b.bucket:get(b.key)
  if now and now.body == bytes then self.etag = now.etag return true end -- our write's lost response
  local serial, lineage = "?", "?"
  local doc = now and select(2, pcall(json.decode_plain, now.body))
  if type(doc) == "table" then serial, lineage = tostring(doc.serial), tostring(doc.lineage) end
  return nil, string.format("the state in %s was changed by another writer since this run read it (it now has "
    .. "serial %s, lineage %s); this run did not overwrite it", b:where(), serial, lineage)
end

-- Saves and writes to S3 (see the top of this file): saves made while a write is in
-- flight go together in the next one (state/groupcommit.lua). Once a write failed
-- no write is in flight (the writer stopped): the working copy is saved here, so
-- that what is kept holds every save.
function State:save()
  if not self.failed then
    local written, why = self.commits:commit(self.native:dirty())
    if written then
      if self.kept then os.remove(self.backend.errored) self.kept = nil end -- S3 holds all it held
      self.unsaved_in = nil
      return true
    end
    if not self.commits.failed then return nil, self:keep(why, true) end -- a refused write: retried
    self.failed = why
  end
  self.native:save()
  return nil, self:keep(self.failed)
end

-- Where this run's state is after its last save failed: nil when that save
-- succeeded; { where, kept = the errored file, push = the command that writes it
-- back } or { where } alone when it is in this run's memory only.
function State:unsaved()
  if self.unsaved_in == nil then return nil end
  local b = self.backend
  return { where = b:where(), kept = self.unsaved_in or nil, push = self.unsaved_in and b.push_hint(self.unsaved_in) }
end

-- Sensitive values in clear -----------------------------------------------------

-- Where README's Secrets section shows how to list and delete a state's older versions.
local OLD_VERSIONS_HINT = "list and delete them with the AWS CLI as README's Secrets section shows (aws s3api "
  .. "list-object-versions, then delete-object --version-id; lambdaeng state history gives each one's serial)"

-- A state an older lambdaeng wrote with sensitive values in clear (one migrated or
-- pushed to S3 before those commands refused it; state/scrub.lua finds them) is
-- written back at once with keyed digests of them, by the first command that
-- writes to open it under the lock: S3 holds none in the current object from then
-- on, whether or not the command changes anything else. There is no backup to
-- mend, but the bucket's versioning keeps the older versions holding them, which
-- lambdaeng never deletes: the warning says so and how. found, warning | nil, err.
function Backend:scrub_secrets(st, make_digest)
  if not scrub.marked(files.read(st.path)) then return {} end
  local found, entries, outputs = scrub.find(st)
  if #found == 0 then return {} end
  local digest, err = make_digest()
  if not digest then return nil, err end
  scrub.into(st, found, entries, outputs, digest)
  local ok, serr = st:save()
  if not ok then return nil, errors.new("StateError", serr) end
  return found, string.format("the state in %s held sensitive values in clear, written by an older lambdaeng (%s): "
    .. "its current version holds keyed digests of them now; the versions the bucket keeps from before still hold "
    .. "them (lambdaeng deletes no version): %s", self:where(), table.concat(found, ", "), OLD_VERSIONS_HINT)
end

-- The lock ----------------------------------------------------------------------

local Lock = {}
Lock.__index = Lock
-- (what the run's writes did after that: they were compare-and-swap)
Lock.after_forced = "; each write of this run after that was refused if the other run had written first"

function Lock:id() return self.info.id end

function Lock:release()
  if self.released then return true end
  self.released = true
  local b = self.backend
  local ok, err = b.bucket:delete(b.lock_key, self.etag)
  if ok then return true end
  if err.status == 412 or err.status == 404 then
    return nil, string.format("the lock %s (id %s) was no longer this run's: another run forced it away",
      b.bucket:where(b.lock_key), self.info.id)
  end
  return nil, string.format("releasing the lock %s failed (%s: %s); remove it with: lambdaeng force-unlock %s",
    b.bucket:where(b.lock_key), err.type, err.message, self.info.id)
end

-- The lock object as it is now: holder, etag | nil (none) | false, err.
function Backend:holder()
  local obj, err = self.bucket:get(self.lock_key)
  if not obj then
    if err.status == 404 then return nil end
    return false, s3_error("reading the lock " .. self.bucket:where(self.lock_key), err)
  end
  local ok, doc = pcall(json.decode_plain, obj.body)
  if not ok or type(doc) ~= "table" then doc = {} end
  return doc, obj.etag
end

local function describe(h)
  return string.format("%s (pid %s on %s) since %s (operation: %s, lock id %s)", tostring(h.who or "?"),
    tostring(h.pid or "?"), tostring(h.host or "?"), tostring(h.created or "?"), tostring(h.operation or "?"),
    tostring(h.id or "none"))
end

function Backend:lock(operation)
  local info = { id = hash.hex(sys.random_bytes(16)), operation = operation or "?", host = hostname(),
                 pid = sys.pid(), who = (os.getenv("USER") or os.getenv("LOGNAME") or "unknown") .. "@" .. hostname(),
                 created = os.date("!%Y-%m-%dT%H:%M:%SZ"), version = sys.version, path = self:where() }
  local res, err = self.bucket:put(self.lock_key, json.encode_plain(info), { if_none_match = true, sse = self.sse })
  if res then return setmetatable({ backend = self, info = info, etag = res.etag }, Lock) end
  local where = self.bucket:where(self.lock_key)
  if err.status ~= 412 then return nil, s3_error("taking the lock " .. where, err) end
  local h, etag = self:holder()
  if h == false then return nil, etag end
  if h and h.id == info.id then -- our first attempt created it; its response was lost
    return setmetatable({ backend = self, info = info, etag = etag }, Lock)
  end
  if not h then
    return nil, errors.new("StateLocked", "the lock " .. where .. " was held a moment ago and is gone now; try again")
  end
  return nil, errors.new("StateLocked", string.format("state is locked by %s (lock object %s); wait for it to "
    .. "finish (--lock-timeout 60s waits for it), or, if it no longer runs, remove the lock: lambdaeng force-unlock %s %s",
    describe(h), where, tostring(h.id or "LOCK_ID"), self.stack_path), { holder = h })
end

-- Removes the lock if its id is id. The id is required: a lock in S3 may be held
-- from any machine (CI runners often share one host name), so whether its holder
-- still runs cannot be told from here.
function Backend:force_unlock(id)
  local where = self.bucket:where(self.lock_key)
  local h, etag = self:holder()
  if h == false then return nil, etag end
  if not h then
    if id then return nil, errors.new("StateError", "there is no lock " .. where .. " (lock id " .. id .. ")") end
    return true
  end
  if not id then
    return nil, errors.new("StateError", string.format("--force-unlock: the state is locked by %s; lambdaeng cannot "
      .. "tell whether a run holding a lock in S3 has stopped. If it has, give its lock id: --force-unlock=%s or "
      .. "lambdaeng force-unlock %s %s", describe(h), tostring(h.id or "LOCK_ID"), tostring(h.id or "LOCK_ID"),
      self.stack_path))
  elseif h.id ~= id then
    return nil, errors.new("StateError", string.format("the lock %s has id %s, not %s; nothing was removed "
      .. "(it is held by %s)", where, tostring(h.id), id, describe(h)))
  end
  local ok, err = self.bucket:delete(self.lock_key, etag)
  if not ok then return nil, s3_error("removing the lock " .. where, err) end
  return true
end

-- Writes a whole state document (state push, migrate, restore), under the lock:
-- If-Match on etag (the object as the caller read it), or If-None-Match: *.
function Backend:write_raw(bytes, etag)
  local res, err = self.bucket:put(self.key, bytes, { if_match = etag, if_none_match = not etag, sse = self.sse })
  if not res then
    if err.status == 412 then
      return nil, errors.new("StateError", "the state in " .. self:where() .. " changed while this command ran; "
        .. "nothing was written")
    end
    return nil, s3_error("writing the state " .. self:where(), err)
  end
  return true
end

function Backend:versions()
  local list, err = self.bucket:versions(self.key)
  if not list then return nil, s3_error("listing the versions of " .. self:where(), err) end
  return list
end

-- The serial of each version of the list (v.serial; nil when it cannot be read),
-- from the object's last bytes, where engine/state.c writes it ("serial" and
-- "version" are the document's last keys): one small ranged GET per version, a
-- few at a time. A version laid out otherwise (a document pushed as it was) is read whole.
local TAIL_BYTES = 512

local function serial_at_end(text)
  local serial = text:match('"serial"%s*:%s*(%d+)%s*,%s*"version"%s*:%s*%d+%s*}%s*$')
  return serial and math.tointeger(tonumber(serial))
end

function Backend:version_serials(list)
  local reads = {}
  for i, v in ipairs(list) do
    reads[i] = function()
      local obj = self.bucket:get(self.key, v.version_id, (v.size or 0) > TAIL_BYTES and ("bytes=-" .. TAIL_BYTES) or nil)
      local serial = obj and serial_at_end(obj.body)
      if obj and not serial then
        local whole = self.bucket:get(self.key, v.version_id)
        local ok, doc = pcall(json.decode_plain, whole and whole.body or "")
        serial = ok and type(doc) == "table" and math.tointeger(doc.serial) or nil
      end
      v.serial = serial
    end
  end
  s3.on_loop(function() task.all(reads, 8) end)
  return list
end

function Backend:read_version(version_id)
  local obj, err = self.bucket:get(self.key, version_id)
  if not obj then return nil, s3_error("reading version " .. version_id .. " of " .. self:where(), err) end
  return obj
end

-- Removes the state object (workspace delete), under the lock.
function Backend:delete_state(etag)
  local ok, err = self.bucket:delete(self.key, etag)
  if not ok and err.status ~= 404 then return nil, s3_error("deleting " .. self:where(), err) end
  self.bucket:delete(self.digest_key)
  return true
end

-- The digest key ----------------------------------------------------------------

function Backend:read_key()
  local obj = self.bucket:get(self.digest_key)
  if obj and #obj.body >= 32 then return obj.body end
  return nil
end

function Backend:write_key(key)
  local res, err = self.bucket:put(self.digest_key, key, { if_none_match = true, sse = self.sse })
  if res then return key end
  local theirs = self:read_key() -- another run created it first
  if theirs then return theirs end
  return nil, s3_error("writing the digest key " .. self.bucket:where(self.digest_key), err)
end

M.hostname = hostname
return M
