-- Refresh: reads every stored function back and folds what changed outside
-- lambdaeng into the stored arguments, so the plan shows it as an update that
-- puts it back. A function that is gone leaves the state (the plan re-creates
-- it); one whose create was cut short is adopted when it exists.
--
-- Settings are compared as Lambda means them (func_doc.same): a value at the
-- API's default equals its absence, subnet and security group ids are sets. A
-- setting the API leaves out of its answer is unset, except the few every
-- answer carries (an endpoint that leaves those out tells nothing about them).
-- The version is read back (ListVersionsByFunction) when the function publishes,
-- and the code-signing configuration when the stack or state names one.
local task = require "lambdaeng.task"
local errs = require "lambdaeng.errors"
local plan = require "lambdaeng.plan"
local ref = require "lambdaeng.ref"
local func = require "lambdaeng.resources.func"
local doc = require "lambdaeng.resources.func_doc"
local schema = require "lambdaeng.schema"
local secret_attrs = require "lambdaeng.secret_attrs"
local secrets = require "lambdaeng.secrets"
local sensitive_parts = require "lambdaeng.plan.sensitive_parts"
local trace = require "lambdaeng.trace"
local loop = require "lambdaeng.native.loop"
local next_change = require("lambdaeng.native.vm").next_change

local M = {}

-- The other kinds read back by refresh (resources/<kind>.lua: read, id_of, READABLE, SETS),
-- each loaded when a stored entry of its kind is first met (a state of functions alone,
-- W3's, loaded all five for nothing: ~0.7 M instructions).
local OTHER_MODULES = { layer_version = "lambdaeng.resources.layer_version", alias = "lambdaeng.resources.alias",
                        permission = "lambdaeng.resources.permission",
                        function_url = "lambdaeng.resources.function_url",
                        event_invoke_config = "lambdaeng.resources.event_invoke_config" }
local OTHERS = setmetatable({}, { __index = function(loaded, kind)
  local name = OTHER_MODULES[kind]
  if name == nil then return nil end
  local mod = require(name)
  loaded[kind] = mod
  return mod
end })

-- Whether refresh reads stored entries of this kind back.
function M.refreshable(kind) return kind == "func" or OTHER_MODULES[kind] ~= nil end

local READABLE = { "function_name", "role", "handler", "runtime", "description", "timeout", "memory_size",
                   "package_type", "kms_key_arn", "architectures", "environment", "layers", "ephemeral_storage",
                   "tracing_config", "vpc_config", "dead_letter_config", "file_system_config", "snap_start",
                   "image_config", "tags", "reserved_concurrent_executions" }
local READABLE_WITH_SIGNING = table.move(READABLE, 1, #READABLE, 1, {})
READABLE_WITH_SIGNING[#READABLE_WITH_SIGNING + 1] = "code_signing_config_arn"
-- Reported in every GetFunction answer: when missing, nothing is learnt about them.
local ALWAYS_REPORTED = { function_name = true, role = true, handler = true, runtime = true, timeout = true,
                          memory_size = true, architectures = true, package_type = true }

-- Looked at whenever stored, even when read back as kept (the stack's own tags).
local WATCHED = { tags = true }

local function truthy(v) return v ~= nil and v ~= false and v ~= "" end

-- What to read besides GetFunction for a stored function (and its declaration, if any).
-- (Only the two arguments it needs are resolved: resolving all of them was 5 % of a
-- refresh's Lua time.)
local function declared(decl, key)
  if not decl then return nil end
  local v = decl.args[key]
  if v ~= nil then v = ref.resolve(v, nil) end -- (most stacks leave both out: no call)
  if v == nil then v = decl.kind.args[key] and decl.kind.args[key].default end
  return v
end

-- The four read options, shared: func.read and merge only read them (a refresh asked
-- for a new table per function).
local READ_OPTIONS = { [false] = { [false] = { versions = false, code_signing = false },
                                   [true] = { versions = false, code_signing = true } },
                       [true] = { [false] = { versions = true, code_signing = false },
                                  [true] = { versions = true, code_signing = true } } }

-- (version: the stored attrs.version, for an entry read without its attrs)
function M.read_options(entry, decl, version)
  local publish, signing = declared(decl, "publish"), declared(decl, "code_signing_config_arn")
  if version == nil then version = entry.attrs and entry.attrs.version end
  local versions = entry.args.publish == true or publish == true or publish == ref.UNKNOWN
    or (version ~= nil and version ~= "$LATEST")
  return READ_OPTIONS[versions][truthy(entry.args.code_signing_config_arn) or truthy(signing)]
end

-- The stack's own tags: those that came from default_tags are not the stack's.
local function own_tags(actual, stored_tags, default_tags)
  local own = {}
  for k, v in pairs(actual or {}) do
    if (stored_tags or {})[k] ~= nil or (default_tags or {})[k] == nil then own[k] = v end
  end
  return next(own) and own or nil
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- Whether argument k read back (actual) differs from what is stored (stored; kept:
-- as Lambda keeps it), its new stored value, and for a sensitive one, what was read.
local function read_back_change(ctx, k, stored, kept, actual, stored_args)
  if k == "tags" then actual = own_tags(actual, stored_args.tags, ctx.default_tags) end
  if type(stored) == "table" and stored.sensitive_digest then
    -- a sensitive stored value can only be compared through its digest
    if doc.canonical(k, actual) == nil then return true, nil end
    if ctx.digest and ctx.digest(actual) ~= stored.sensitive_digest then
      return true, { sensitive_digest = ctx.digest(actual) }, actual
    end
  elseif actual == nil and ALWAYS_REPORTED[k] then
    -- the endpoint did not say: nothing to learn about it
  elseif not doc.same(k, kept, actual) then
    return true, actual
  end
  return false
end

-- Folds what was read (args) into the stored arguments: returns the merged table, a
-- copy made at the first argument read back different, or entry.args itself when
-- none was (a no-op refresh copies nothing); and the entry's args_known, made again
-- for a partly sensitive argument read back changed (sensitive_parts.reread).
local function merge(ctx, entry, args, opts)
  local stored_args, merged, known = entry.args, nil, entry.args_known
  local kept = doc.effective(stored_args) -- what Lambda keeps of them (no KMS key without variables)
  local readable = opts.code_signing and READABLE_WITH_SIGNING or READABLE
  -- Only the arguments that may have changed are looked at (in C: 21 a function, most of
  -- them a plain value read back as Lambda keeps it, which doc.same says is the same): one
  -- read back different from what Lambda keeps, or a stored table, or stored tags (tags
  -- neither stored nor read back are no change: nothing to look at).
  local i = next_change(readable, 1, stored_args, args, kept, WATCHED)
  while i do
    local k = readable[i]
    local changed, now, read = read_back_change(ctx, k, stored_args[k], kept[k], args[k], stored_args)
    if changed then
      merged = merged or copy(stored_args)
      merged[k] = now
      if type(stored_args[k]) == "table" and stored_args[k].sensitive_digest then
        known = sensitive_parts.reread(known, entry.sensitive_paths, k, read, ctx.digest, now and now.sensitive_digest)
      end
    end
    i = next_change(readable, i + 1, stored_args, args, kept, WATCHED)
  end
  return merged or stored_args, known
end

-- The fields a refresh reads back (put_read_back) are left out of a function's entry when
-- it is converted (state:get_without): compared with the state's text first (state:same,
-- in C), they are made only when they differ (W3's no-op refresh: ~20 values an entry).
local READ_BACK = { "attrs", "tags_all", "target" }

-- The entry's stored field, made from the state when the entry was read without it.
local function stored(state, addr, entry, field)
  local v = entry[field]
  if v == nil then
    v = state:get(addr, field)
    entry[field] = v
  end
  return v
end

-- Gives a function's entry, read without READ_BACK's fields, its stored ones: the values
-- read back (as they are stored) when the state's text is exactly those, else made from it.
local function fill_read_back(state, addr, entry, attrs, tags_all, target)
  if entry.attrs == nil and entry.tags_all == nil and entry.target == nil
      and state:same(addr, "attrs", attrs, "tags_all", tags_all, "target", target) then
    entry.attrs, entry.tags_all, entry.target = attrs, tags_all, target
    return
  end
  for _, field in ipairs(READ_BACK) do stored(state, addr, entry, field) end
end

-- Gives entry the fields read back (attrs, tags_all, target) and puts it in state,
-- unless nothing changed (changed: its arguments did): an entry a refresh finds as
-- it was is left as it is, not converted to the state's JSON again (in a no-op
-- refresh that conversion cost as much as reading the entry), and goes into
-- unchanged: it is then what state:get(addr) gives (a function's fields read back exactly as
-- stored are the tables read back: fill_read_back), and the plan takes it.
-- (A field read back as nil is left as the entry has it.)
local function put_read_back(state, addr, entry, changed, attrs, tags_all, target, unchanged)
  if attrs == nil then attrs = entry.attrs end
  if tags_all == nil then tags_all = entry.tags_all end
  if target == nil then target = entry.target end
  if not (changed or not plan.equal(attrs, entry.attrs) or not plan.equal(tags_all, entry.tags_all)
          or not plan.equal(target, entry.target)) then
    unchanged[addr] = entry
    return
  end
  entry.attrs, entry.tags_all, entry.target = attrs, tags_all, target
  state:put(addr, entry)
end

-- The target record of a function read back at arn (rctx.target_record(arn)): the last one
-- made by that view again while the ARN begins as its did, up to ":function:" (partition,
-- region and account: all a record takes from the ARN, when that part is of the usual shape).
-- Entries then share a record; a record is only read (targets.check shares them too).
local RECORDS = setmetatable({}, { __mode = "k" }) -- [rctx.target_record] = { prefix, record }
local function target_record(rctx, arn)
  local make = rctx.target_record
  local at = type(arn) == "string" and arn:find(":function:", 1, true)
  if not at then return make(arn) end
  local last = RECORDS[make]
  if last and #last.prefix == at + 9 and arn:find(last.prefix, 1, true) == 1 then return last.record end
  local record, prefix = make(arn), arn:sub(1, at + 9)
  if prefix:find("^arn:[^:]*:lambda:[^:]*:%d+:function:$") then RECORDS[make] = { prefix = prefix, record = record } end
  return record
end
M.target_record = target_record -- (for lua.targets)

-- Whether secret_attrs.stored would give what was read back as it is: the entry has no
-- sensitive argument and no secret is registered (most refreshes: two calls and a table
-- a function saved).
local function nothing_secret(entry)
  local sensitive = entry.sensitive
  return (sensitive == nil or next(sensitive) == nil) and not secrets.any()
end

-- Reads one stored function back and folds the answer into its entry.
-- (entry: read without READ_BACK's fields: fill_read_back gives them)
local function refresh_one(ctx, addr, entry, drifted, errors, unchanged)
  local state = ctx.state
  local decl = ctx.session and ctx.session.by_addr[addr]
  local version, provider = state:get_in(addr, "attrs", "version", "target", "provider")
  local opts = M.read_options(entry, decl, version)
  if provider ~= nil then stored(state, addr, entry, "target") end -- (the view follows it)
  local rctx = ctx.for_resource and ctx.for_resource(decl, entry) or ctx
  local read, err = func.read(rctx, entry.args.function_name, opts)
  if read then
    local attrs = read.attrs
    local merged, known = merge(rctx, entry, read.args, opts)
    -- what was read back is stored as apply stores it: nothing sensitive in clear
    local stored_attrs, tags_all = attrs, read.tags
    if not nothing_secret(entry) then
      stored_attrs = secret_attrs.stored(schema.func, attrs, entry.sensitive, ctx.digest, entry.sensitive_paths)
      tags_all = secret_attrs.stored(schema.func, { tags_all = read.tags }, entry.sensitive, ctx.digest,
        entry.sensitive_paths).tags_all
    end
    -- read where it is now: with --retarget that is the new target
    local target = rctx.target_record and target_record(rctx, attrs.arn) or stored(state, addr, entry, "target")
    fill_read_back(state, addr, entry, stored_attrs, tags_all, target)
    if entry.attrs and attrs.code_sha256 and entry.attrs.code_sha256
        and attrs.code_sha256 ~= entry.attrs.code_sha256 then
      if merged == entry.args then merged = copy(merged) end
      merged.source_code_hash = "(changed outside lambdaeng: CodeSha256 " .. attrs.code_sha256 .. ")"
    end
    local changed = false
    if not plan.equal(merged, entry.args) or entry.partial or entry.pending then
      drifted[#drifted + 1] = addr
      entry.args, entry.args_known = merged, known
      entry.partial, entry.pending = nil, nil
      changed = true
    end
    put_read_back(state, addr, entry, changed, stored_attrs, tags_all, target, unchanged)
  elseif err.type == "ResourceNotFoundException" and entry.pending == "create" then
    -- A create whose outcome is unknown may still land (the endpoint can finish it after
    -- the client gave up): keep the write-ahead record, so the create adopts what it finds.
    ctx.out(string.format("%s: the function %s is not there yet; an interrupted create is retried", addr,
      entry.args.function_name))
  elseif err.type ~= "ResourceNotFoundException" then
    errors[#errors + 1] = string.format("%s: cannot read function %s back: %s: %s", addr,
      entry.args.function_name, tostring(err.type), tostring(err.message))
  else
    ctx.out(string.format("%s: the function %s no longer exists; it will be created again", addr,
      entry.args.function_name))
    state:remove(addr)
    drifted[#drifted + 1] = addr
  end
end

local function sorted_set(v)
  if type(v) ~= "table" or v.sensitive_digest ~= nil then return v end -- (a digest: kept, never emptied)
  local out = table.move(v, 1, #v, 1, {})
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

-- Reads one stored resource of another kind back and folds what changed into its entry.
local function refresh_other(ctx, addr, entry, drifted, errors, unchanged)
  local state, mod = ctx.state, OTHERS[entry.kind]
  local decl = ctx.session and ctx.session.by_addr[addr]
  local rctx = ctx.for_resource and ctx.for_resource(decl, entry) or ctx
  local id = mod.id_of(entry)
  local read, err = mod.read(rctx, id)
  if not read then
    if err.type ~= "ResourceNotFoundException" then
      errors[#errors + 1] = string.format("%s: cannot read %s %s back: %s: %s", addr, entry.kind, tostring(id),
        tostring(err.type), tostring(err.message))
      return
    end
    ctx.out(string.format("%s: %s %s no longer exists; it will be created again", addr, entry.kind, tostring(id)))
    state:remove(addr)
    drifted[#drifted + 1] = addr
    return
  end
  local merged, known = copy(entry.args), entry.args_known
  for _, k in ipairs(mod.READABLE) do
    local stored, actual = entry.args[k], read.args[k]
    if mod.SETS[k] then stored, actual = sorted_set(stored), sorted_set(actual) end
    if type(stored) == "table" and next(stored) == nil then stored = nil end
    if type(stored) == "table" and stored.sensitive_digest then
      -- a sensitive stored value: compared, and kept, through its digest
      if actual == nil then merged[k] = nil
      elseif ctx.digest and ctx.digest(read.args[k]) ~= stored.sensitive_digest then
        merged[k] = { sensitive_digest = ctx.digest(read.args[k]) }
      end
      if merged[k] ~= entry.args[k] then
        known = sensitive_parts.reread(known, entry.sensitive_paths, k, read.args[k], ctx.digest,
          merged[k] and merged[k].sensitive_digest)
      end
    elseif not plan.same(entry.kind, k, stored, actual) then merged[k] = read.args[k] end -- (sets as sets)
  end
  local changed = false
  if not plan.equal(merged, entry.args) then
    drifted[#drifted + 1] = addr
    entry.args, entry.args_known = merged, known
    changed = true
  end
  put_read_back(state, addr, entry, changed,
    secret_attrs.stored(schema[entry.kind], read.attrs, entry.sensitive, ctx.digest, entry.sensitive_paths), nil,
    rctx.target_record and rctx.target_record(read.attrs.arn) or entry.target, unchanged)
end

-- The stored entries the refresh reads, each converted once: by the task that reads it
-- back, or beforehand by a task that fills the wait for the first answers. The first
-- width tasks convert their own entries and send their requests; the others' entries
-- are converted meanwhile, CONVERT_STEP at a time, giving way to the loop after each
-- step (loop.yield: libcurl starts the transfers, what has come in is read) so the
-- requests are not held back. W3 (1,000 functions, 256 at once) had waited ~15 ms
-- for its first answers with nothing to do, and the conversion is ~35 M instructions.
-- Returns get(i) -> the entry at addrs[i] (a function's without READ_BACK's fields: kinds[i]
-- is its kind), and stop() (what is left is left to get).
local CONVERT_STEP = 32 -- entries (~0.4 ms)
local function entries_in_flight(state, addrs, kinds, width)
  local entries, stopped = {}, false
  local function get(i)
    local entry = entries[i]
    if entry == nil then
      if kinds[i] == "func" then entry = state:get_without(addrs[i], READ_BACK[1], READ_BACK[2], READ_BACK[3])
      else entry = state:get(addrs[i]) end
      entries[i] = entry
    end
    return entry
  end
  if #addrs > width then
    loop.spawn(function()
      loop.yield() -- (the first width requests are made in this turn and sent in the next one)
      for first = width + 1, #addrs, CONVERT_STEP do
        loop.yield()
        if stopped then return end
        for i = first, math.min(first + CONVERT_STEP - 1, #addrs) do get(i) end
      end
    end)
  end
  return get, function() stopped = true end
end

-- Reads stored resource i back when it is one refresh reads (counted in read[1]); its
-- entry is then final, and the planner (ctx.planner, plan/ahead.lua) is told.
local function refresh_at(ctx, addrs, i, get, drifted, errors, unchanged, read)
  local entry, addr = get(i), addrs[i]
  if entry.kind == "func" and entry.args and type(entry.args.function_name) == "string" then
    read[1] = read[1] + 1
    refresh_one(ctx, addr, entry, drifted, errors, unchanged)
  elseif OTHERS[entry.kind] and entry.args and OTHERS[entry.kind].id_of(entry) then
    read[1] = read[1] + 1
    refresh_other(ctx, addr, entry, drifted, errors, unchanged)
  end
  if ctx.planner then ctx.planner:done(addr) end
end

-- ctx.planner (plan/ahead.lua, optional): plans each declaration while the others are read.
-- Returns the addresses that drifted (sorted), nil, and the entries read back
-- unchanged ({ addr = entry }, as state:get gives them: plan.compute's opts.entries,
-- while the state is not changed or saved); or nil and an error { type, message }
-- when a function could not be read back.
function M.run(ctx)
  local state = ctx.state
  local drifted, errors, work, unchanged, read = {}, {}, {}, {}, { 0 }
  local addrs, kinds = {}, {} -- the stored resources of a kind refresh reads (their kind read alone)
  for _, addr in ipairs(state:addresses()) do
    local kind = state:get(addr, "kind")
    if M.refreshable(kind) then
      local n = #addrs + 1
      addrs[n], kinds[n] = addr, kind
    end
  end
  local width = ctx.refresh_parallelism or ctx.parallelism or 256
  local get, stop = entries_in_flight(state, addrs, kinds, width)
  for i = 1, #addrs do
    work[i] = function() refresh_at(ctx, addrs, i, get, drifted, errors, unchanged, read) end
  end
  trace.phase("refresh-entries") -- the stored resources refresh reads, found
  if ctx.planner then ctx.planner:begin(addrs, unchanged) end
  if #work > 0 then
    local ok, err = pcall(task.all, work, width)
    stop()
    if ctx.planner then ctx.planner:stop() end
    if not ok then error(err, 0) end
  elseif ctx.planner then
    ctx.planner:stop()
  end
  trace.phase("refresh")
  if read[1] == 0 then return drifted, nil, unchanged end
  table.sort(drifted)
  if #errors > 0 then
    table.sort(errors)
    return nil, errs.new("RefreshFailed", table.concat(errors, "\n") .. string.format("\n%d of %d functions "
      .. "could not be read back after their retries; nothing was planned (run again, or --no-refresh to plan on "
      .. "the stored state)", #errors, read[1]))
  end
  return drifted, nil, unchanged
end

return M
