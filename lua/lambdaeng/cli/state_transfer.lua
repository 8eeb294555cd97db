-- state pull|push|migrate|history|restore|mv: whole states moved between backends,
-- versions and addresses (SPEC 7b). Each writes under the state's lock (migrate
-- under both backends' locks), compare-and-swap on S3.
local json = require "lambdaeng.json"
local statelib = require "lambdaeng.native.state"
local files = require "lambdaeng.files"

local M = {}

-- A document checked as a state (engine/state.c reads it as it would its own
-- file): its lineage and serial | nil, message.
local function check_document(bytes, what)
  local ok, doc = pcall(json.decode_plain, bytes)
  if not ok or type(doc) ~= "table" then return nil, what .. " is not a JSON state document" end
  local path = os.tmpname()
  local wrote = files.replace(path, bytes)
  local st, err = wrote and statelib.open(path)
  os.remove(path)
  if not st then return nil, what .. ": " .. tostring(err):gsub(path:gsub("%p", "%%%0"), what) end
  return { lineage = doc.lineage, serial = doc.serial, native = st }
end

local function info_of(bytes)
  local ok, doc = pcall(json.decode_plain, bytes or "")
  if ok and type(doc) == "table" then return doc end
  return {}
end

function M.pull(ws)
  local backend, err = ws:state_backend()
  if not backend then return nil, err end
  local obj, rerr = backend:read_raw()
  if not obj then return nil, rerr end
  if not obj.body then return nil, "there is no state in " .. backend:where() .. " yet" end
  io.write(obj.body)
  return true
end

-- Whether bytes may replace the state now in a backend: the same lineage and a
-- serial not older, unless --force.
local function may_replace(current, incoming, where, force)
  if not current.body or force then return true end
  local now = info_of(current.body)
  if now.lineage ~= incoming.lineage then
    return nil, string.format("%s holds another state (lineage %s; this one is %s); nothing was written. Push it "
      .. "anyway with --force only if it is meant to replace that one", where, tostring(now.lineage),
      tostring(incoming.lineage))
  end
  if math.type(now.serial) == "integer" and incoming.serial < now.serial then
    return nil, string.format("%s is newer (serial %d) than this state (serial %d); nothing was written. Pull it "
      .. "and compare, or push with --force to go back to this one", where, now.serial, incoming.serial)
  end
  return true
end

-- Nil when the document bytes holds no sensitive value in clear; else why it may not
-- go to S3: an older lambdaeng wrote them before keyed digests, and the bucket would
-- keep them in every version it keeps (a run rewrites the current object, never a version).
local function clear_secrets(bytes, what, remedy)
  local doc = info_of(bytes)
  local found = require("lambdaeng.secret_attrs").in_clear(doc.resources, doc.outputs)
  if #found == 0 then return nil end
  return string.format("%s holds sensitive values in clear, written by an older lambdaeng (%s); nothing was "
    .. "written: S3 would keep them in this and every later version of the state. %s", what,
    table.concat(found, ", "), remedy)
end

function M.push(ws, words, args)
  local path = words[1]
  if not path then return nil, "lambdaeng state push needs the state file to push: state push FILE [STACK.lua]" end
  local bytes = files.read(path)
  if not bytes then return nil, "cannot read " .. path end
  local incoming, cerr = check_document(bytes, path)
  if not incoming then return nil, cerr end
  local _, held = ws:lock_state("state push")
  if not _ then return nil, held end
  local lock <close> = held
  local backend = ws.backend
  local clear = backend.versions and clear_secrets(bytes, path, "Put it in place of a local state file and "
    .. "run `lambdaeng run` on it first: the run stores keyed digests of them instead")
  if clear then return nil, clear end
  local current, rerr = backend:read_raw()
  if not current then return nil, rerr end
  local ok, why = may_replace(current, incoming, backend:where(), args.force)
  if not ok then return nil, why end
  local wrote, werr = backend:write_raw(bytes, current.etag)
  if not wrote then return nil, werr end
  lock:release()
  print(string.format("Pushed %s to %s (serial %s, lineage %s).", path, backend:where(), tostring(incoming.serial),
    tostring(incoming.lineage)))
  return true
end

-- state migrate [--to s3|local]: the stack's local state to the S3 backend it
-- declares (the default), or back, byte for byte, under both locks.
function M.migrate(ws, _, args)
  local remote, err = ws:state_backend()
  if not remote then return nil, err end
  if remote == ws.local_backend then
    return nil, "state migrate moves a state between local files and the S3 backend the stack declares; this "
      .. "stack declares no backend{ type = \"s3\" }"
  end
  local to = args.to or "s3"
  if to ~= "s3" and to ~= "local" then return nil, "--to expects s3 or local, got " .. to end
  local from_b, to_b = ws.local_backend, remote
  if to == "local" then from_b, to_b = remote, ws.local_backend end
  local h1, e1 = from_b:lock("state migrate")
  if not h1 then return nil, e1 end
  local h2, e2 = to_b:lock("state migrate")
  if not h2 then h1:release() return nil, e2 end
  local function done(...) h2:release() h1:release() return ... end
  local source, serr = from_b:read_raw()
  if not source then return done(nil, serr) end
  if not source.body then return done(nil, "there is no state in " .. from_b:where() .. " to migrate") end
  local clear = to == "s3" and clear_secrets(source.body, from_b:where(), "Run `lambdaeng run` on it first "
    .. "(with backend{} left out of the stack for that run): the run stores keyed digests of them instead")
  if clear then return done(nil, clear) end
  local dest, derr = to_b:read_raw()
  if not dest then return done(nil, derr) end
  if dest.body and not args.force then
    return done(nil, string.format("%s already holds a state (serial %s); nothing was migrated. Pass --force to "
      .. "replace it", to_b:where(), tostring(info_of(dest.body).serial)))
  end
  local wrote, werr = to_b:write_raw(source.body, dest.etag)
  if not wrote then return done(nil, werr) end
  local key = from_b:read_key()
  if key and not to_b:read_key() then to_b:write_key(key) end
  if to == "s3" then -- the local copy moves aside: runs use S3 from now on
    local aside = ws.paths.state .. ".migrated"
    os.rename(ws.paths.state, aside)
    done()
    print(string.format("Migrated %s to %s (serial %s); the local file was kept as %s.", from_b:where(),
      to_b:where(), tostring(info_of(source.body).serial), aside))
  else
    done()
    print(string.format("Migrated %s to %s (serial %s). Remove backend{} from %s for runs to use it.",
      from_b:where(), to_b:where(), tostring(info_of(source.body).serial), ws.stack_path))
  end
  return true
end

function M.history(ws)
  local backend, err = ws:state_backend()
  if not backend then return nil, err end
  if not backend.versions then return nil, "state history needs the S3 backend (with bucket versioning)" end
  local list, lerr = backend:versions()
  if not list then return nil, lerr end
  if #list == 0 then return nil, "there is no state in " .. backend:where() .. " yet" end
  if #list == 1 and list[1].version_id == "null" then
    return nil, "the bucket keeps no versions of " .. backend:where() .. ": enable versioning on the bucket"
  end
  backend:version_serials(list)
  for _, v in ipairs(list) do
    print(string.format("%s  %s  serial %-6s %7d bytes%s", v.version_id, v.last_modified or "?",
      tostring(v.serial or "?"), v.size or 0, v.latest and "  (current)" or ""))
  end
  return true
end

-- state restore VERSION: that version's resources and outputs become the
-- current state, written as a new serial of the same lineage.
function M.restore(ws, words, args)
  local version = words[1]
  if not version then return nil, "lambdaeng state restore needs a version id (see lambdaeng state history)" end
  local st, held = ws:lock_state("state restore")
  if not st then return nil, held end
  local lock <close> = held
  if not ws.backend.read_version then return nil, "state restore needs the S3 backend (with bucket versioning)" end
  local obj, err = ws.backend:read_version(version)
  if not obj then return nil, err end
  local old, cerr = check_document(obj.body, "version " .. version)
  if not old then return nil, cerr end
  local lineage = st:info().lineage
  if old.lineage ~= lineage and not args.force then
    return nil, string.format("version %s is of another state (lineage %s, current %s); pass --force to restore it",
      version, tostring(old.lineage), tostring(lineage))
  end
  -- a version an older lambdaeng wrote with sensitive values in clear comes back with
  -- keyed digests of them: S3 never gets them again
  local scrub = require "lambdaeng.state.scrub"
  local clear, entries, outputs = scrub.find(old.native)
  if #clear > 0 then
    local digest, derr = ws:digest(true)
    if not digest then return nil, derr end
    scrub.digests(clear, entries, outputs, digest)
    if ws.warn then
      ws.warn(string.format("version %s holds sensitive values in clear, written by an older lambdaeng (%s): "
        .. "restored with keyed digests of them instead", version, table.concat(clear, ", ")))
    end
  end
  for _, addr in ipairs(st:addresses()) do st:remove(addr) end
  for _, addr in ipairs(old.native:addresses()) do st:put(addr, entries[addr]) end
  st:set_outputs(outputs)
  local ok, serr = st:save()
  if not ok then return nil, serr end
  lock:release()
  print(string.format("Restored version %s (serial %s) of %s as serial %d.", version, tostring(old.serial),
    ws.backend:where(), st:info().serial))
  return true
end

-- state mv SRC DST: the resource's entry under a new address (the function is
-- not touched); what depended on SRC now depends on DST.
function M.mv(ws, words)
  local src, dst = words[1], words[2]
  if not src or not dst then return nil, "lambdaeng state mv needs two addresses: state mv SRC DST [STACK.lua]" end
  if src:match("^(%w+)%.") ~= dst:match("^(%w+)%.") then
    return nil, string.format("state mv keeps the kind: %s and %s are of different kinds", src, dst)
  end
  local st, held = ws:lock_state("state mv")
  if not st then return nil, held end
  local lock <close> = held
  local entry = st:get(src)
  if not entry then return nil, "no resource " .. src .. " in state; nothing was moved" end
  if st:get(dst) then return nil, dst .. " is in state already; nothing was moved" end
  require("lambdaeng.moves").rename(st, src, dst) -- as a moved{} block renames it
  local ok, err = st:save()
  if not ok then return nil, err end
  lock:release()
  print(string.format("Moved %s to %s", src, dst))
  print("Successfully moved 1 object(s).")
  return true
end

return M
